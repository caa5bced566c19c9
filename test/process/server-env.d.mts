export declare const serverEnvNames: readonly string[];
export declare function freePort(): Promise<number>;
