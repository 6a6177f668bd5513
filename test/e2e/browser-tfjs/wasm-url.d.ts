// Vite's `?url` imports: the URL of the asset in the build.
declare module '*.wasm?url' {
  const url: string;
  export default url;
}
