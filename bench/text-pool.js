// Random words for the load programs' text messages, shared by client and
// server: a pool of 64 KB texts built once, sliced per message.
'use strict';

function rnd(n) { return Math.floor(Math.random() * n); }

// A pool of 64 texts of 64 KB, made of the given words.
function textPool(words) {
  const text = (len) => {
    const parts = [];
    let n = 0;
    while (n < len) { const w = words[rnd(words.length)]; parts.push(w); n += w.length + 1; }
    return parts.join(' ').slice(0, len);
  };
  const pool = [];
  for (let i = 0; i < 64; i++) pool.push(text(64 * 1024));
  return pool;
}

module.exports = { rnd, textPool };
