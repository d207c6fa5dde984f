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
