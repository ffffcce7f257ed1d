import { MemoryStateStore } from '../../../src/adapters/memory/state-store.ts';
import { stateStoreContract } from '../../contract/state-store.contract.ts';

stateStoreContract('MemoryStateStore', async () => ({
  store: new MemoryStateStore(),
  cleanup: async () => {},
}));
