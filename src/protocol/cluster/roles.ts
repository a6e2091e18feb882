/**
 * The roles a node of the cluster plays. A node says its role when it joins; the manager keeps it
 * with the member and every node starts the tree of its role.
 */

export const ROLES = ['manager', 'storage', 'gateway'] as const;
export type Role = (typeof ROLES)[number];
