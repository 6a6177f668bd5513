import * as p from 'privkit/protect';
const recs = Array.from({length: 100000}, (_, i) => ({ id: 'u' + i, email: `user${i}@ex.com`, phone: '555-123-' + String(i%10000).padStart(4,'0'), age: 20 + i % 60, born: '1980-03-04', income: i*3 }));
for (const col of ['email','phone','age','born','income']) {
  const pol = { id: {kind:'suppress'}, email: {kind:'suppress'}, phone:{kind:'suppress'}, age:{kind:'suppress'}, born:{kind:'suppress'}, income:{kind:'suppress'} };
  pol[col] = { email: { kind: 'email' }, phone: { kind: 'phone' }, age: { kind: 'bucket', width: 10 }, born: { kind: 'date', unit: 'year' }, income: { kind: 'topCode', upper: 200000 } }[col];
  const t = performance.now(); await p.desensitize(recs, pol); console.log(col, performance.now() - t);
}
const pol = { id: {kind:'suppress'}, email: {kind:'suppress'}, phone:{kind:'suppress'}, age:{kind:'suppress'}, born:{kind:'suppress'}, income:{kind:'suppress'} };
const t = performance.now(); await p.desensitize(recs, pol); console.log('none', performance.now() - t);
