// Files imported as text (`import unit from "x.service" with { type: "text" }`): Bun's bundler
// inlines them, so `bun build --compile` embeds them in the binary.
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
// uPlot's browser build, served by the dashboard as a file (src/cloud/dashboard/assets.ts).
declare module "uplot/dist/uPlot.iife.min.js" {
  const text: string;
  export default text;
}
