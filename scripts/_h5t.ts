import { Store } from '/work/main/agent/store/store.js';
const s = Store.open({ stateDir: '/tmp/h5state', site: 'x' });
console.log('ready'); s.close();
