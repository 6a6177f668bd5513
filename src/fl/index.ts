// privkit/fl: federated averaging (McMahan et al. 2017) with user-level DP, central or distributed.
export {};
