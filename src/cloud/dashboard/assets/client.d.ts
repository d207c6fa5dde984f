// client.js is served to browsers, imported as text (`with { type: "text" }`): its default export is its source.
declare const source: string;
export default source;
