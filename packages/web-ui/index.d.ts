/**
 * The directory `vite build` wrote: index.html and the hashed files under assets/.
 * Throws, saying how to build it, when there is no build.
 */
export declare function builtWebUiDir(): string;
