// Types for aedes-persistence's in-memory persistence class (the package ships them under types/
// but does not map its asyncPersistence.js module to them).
declare module "aedes-persistence/asyncPersistence.js" {
  import MemoryPersistence = require("aedes-persistence/types/asyncPersistence");
  export default MemoryPersistence;
}
