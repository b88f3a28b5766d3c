// Ordinary application code on two Node.js Redis clients, ioredis and
// node-redis, run against a server: strings, hashes, databases, pipelines, MULTI/EXEC with and
// without WATCH, streams and consumer groups, a blocking read, pub/sub,
// INFO as the clients parse it, FLUSHALL. Each scenario prints "ok NAME";
// the first failure prints "FAIL NAME: why" and exits 1.
//
//   node clients.mjs ioredis|node-redis PORT
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createClient, WatchError } from 'redis';

const [which, portText] = process.argv.slice(2);
const port = Number(portText);
const host = '127.0.0.1';
const k = (name) => `${which}:${name}`;

// ioredis takes a batch as [method name, ...args].
const lowerNames = (cmds) => cmds.map(([name, ...args]) => [name.toLowerCase(), ...args]);

// One small interface over both clients, so that every scenario is written once.
async function open() {
  if (which === 'ioredis') {
    const c = new Redis({ host, port, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    await new Promise((resolve, reject) => { c.once('ready', resolve); c.once('error', reject); });
    return {
      raw: c,
      cmd: (...args) => c.call(...args),
      pipeline: async (cmds) => (await c.pipeline(lowerNames(cmds)).exec()).map(([err, v]) => err ?? v),
      multi: async (cmds) => {
        const out = await c.multi(lowerNames(cmds)).exec();
        return out === null ? null : out.map(([err, v]) => err ?? v);
      },
      watchThen: async (keys, body) => {
        await c.watch(...keys);
        return body();
      },
      subscribe: async (channel, onMessage) => {
        const s = new Redis({ host, port });
        s.on('message', (ch, msg) => onMessage(ch, msg));
        await s.subscribe(channel);
        return () => s.quit();
      },
      duplicate: async () => open(),
      info: () => c.info(),
      close: () => c.quit(),
    };
  }
  const c = createClient({ socket: { host, port } });
  c.on('error', () => {});
  await c.connect();
  return {
    raw: c,
    cmd: (...args) => c.sendCommand(args.map(String)),
    pipeline: (cmds) => {
      const m = c.multi();
      for (const [name, ...args] of cmds) m.addCommand([name, ...args.map(String)]);
      return m.execAsPipeline();
    },
    multi: async (cmds) => {
      const m = c.multi();
      for (const [name, ...args] of cmds) m.addCommand([name, ...args.map(String)]);
      try {
        return await m.exec();
      } catch (e) {
        if (e instanceof WatchError) return null;
        throw e;
      }
    },
    // node-redis runs WATCH on a connection of its own (executeIsolated).
    watchThen: (keys, body) => c.executeIsolated(async (iso) => {
      await iso.watch(keys);
      return body(iso);
    }),
    subscribe: async (channel, onMessage) => {
      const s = c.duplicate();
      s.on('error', () => {});
      await s.connect();
      await s.subscribe(channel, (msg, ch) => onMessage(ch, msg));
      return () => s.quit();
    },
    duplicate: async () => open(),
    info: () => c.info(),
    close: () => c.quit(),
  };
}

const str = (v) => (v === null || v === undefined ? v : String(v));

const scenarios = {
  async strings(c) {
    assert.equal(str(await c.cmd('SET', k('a'), 'hello')), 'OK');
    assert.equal(str(await c.cmd('GET', k('a'))), 'hello');
    assert.equal(Number(await c.cmd('INCR', k('n'))), 1);
    assert.equal(Number(await c.cmd('INCRBY', k('n'), 41)), 42);
    assert.equal(Number(await c.cmd('APPEND', k('a'), ' world')), 11);
    assert.deepEqual((await c.cmd('MGET', k('a'), k('n'), k('none'))).map(str), ['hello world', '42', null]);
    assert.equal(Number(await c.cmd('EXISTS', k('a'), k('a'), k('none'))), 2);
    assert.equal(Number(await c.cmd('DEL', k('a'))), 1);
  },

  // A read model kept as a hash, through each client's own hash API.
  async hashes(c) {
    const h = k('h');
    assert.equal(Number(await c.cmd('HSET', h, 'name', 'ada', 'visits', '1')), 2);
    assert.equal(Number(await c.cmd('HINCRBY', h, 'visits', '2')), 3);
    const obj = which === 'ioredis' ? await c.raw.hgetall(h) : await c.raw.hGetAll(h);
    assert.deepEqual({ ...obj }, { name: 'ada', visits: '3' });
    assert.deepEqual((await c.cmd('HMGET', h, 'name', 'none')).map(str), ['ada', null]);
    assert.equal(str(await c.cmd('TYPE', h)), 'hash');
    const out = await c.multi([['HSET', h, 'x', '1'], ['HLEN', h], ['HDEL', h, 'x']]);
    assert.equal(Number(out[1]), 3);
    assert.equal(Number(out[2]), 1);
    await assert.rejects(c.cmd('GET', h), /WRONGTYPE/);
    assert.equal(Number(await c.cmd('DEL', h)), 1);
  },

  // A client of database 3 (each client's own option), apart from database 0.
  async databases(c) {
    let three;
    let cmd3;
    if (which === 'ioredis') {
      three = new Redis({ host, port, db: 3 });
      cmd3 = (...args) => three.call(...args);
    } else {
      three = createClient({ socket: { host, port }, database: 3 });
      three.on('error', () => {});
      await three.connect();
      cmd3 = (...args) => three.sendCommand(args.map(String));
    }
    try {
      await cmd3('SET', k('db'), 'three');
      assert.equal(str(await c.cmd('GET', k('db'))), null);
      await c.cmd('SET', k('db'), 'zero');
      assert.equal(str(await cmd3('GET', k('db'))), 'three');
      assert.equal(Number(await cmd3('DBSIZE')), 1);
      assert.equal(Number(await c.cmd('MOVE', k('db'), 3)), 0);
      assert.equal(str(await cmd3('FLUSHDB')), 'OK');
      assert.equal(str(await c.cmd('GET', k('db'))), 'zero');
    } finally {
      await three.quit();
    }
  },

  async pipelining(c) {
    const cmds = [];
    for (let i = 0; i < 200; i++) cmds.push(['SET', k(`p${i}`), String(i)]);
    for (let i = 0; i < 200; i++) cmds.push(['GET', k(`p${i}`)]);
    const out = await c.pipeline(cmds);
    for (let i = 0; i < 200; i++) {
      assert.equal(str(out[i]), 'OK');
      assert.equal(str(out[200 + i]), String(i));
    }
  },

  async transactions(c) {
    const out = await c.multi([['SET', k('t'), '1'], ['INCR', k('t')], ['GET', k('t')], ['XADD', k('ts'), '*', 'f', 'v'],
      ['XLEN', k('ts')]]);
    assert.equal(str(out[0]), 'OK');
    assert.equal(Number(out[1]), 2);
    assert.equal(str(out[2]), '2');
    assert.match(str(out[3]), /^\d+-\d+$/);
    assert.equal(Number(out[4]), 1);
  },

  async watch(c) {
    await c.cmd('SET', k('w'), '0');
    const other = await c.duplicate();
    // Changed by another client between WATCH and EXEC: EXEC does nothing.
    const aborted = await c.watchThen([k('w')], async (iso) => {
      await other.cmd('SET', k('w'), 'theirs');
      if (iso) {
        try {
          return await iso.multi().set(k('w'), 'mine').exec();
        } catch (e) {
          if (e instanceof WatchError) return null;
          throw e;
        }
      }
      return c.multi([['SET', k('w'), 'mine']]);
    });
    assert.equal(aborted, null);
    assert.equal(str(await c.cmd('GET', k('w'))), 'theirs');
    // Unchanged: it runs.
    const ran = await c.watchThen([k('w')], async (iso) => {
      if (iso) return iso.multi().set(k('w'), 'mine').exec();
      return c.multi([['SET', k('w'), 'mine']]);
    });
    assert.notEqual(ran, null);
    assert.equal(str(await c.cmd('GET', k('w'))), 'mine');
    await other.close();
  },

  async streams(c) {
    const id1 = str(await c.cmd('XADD', k('s'), '*', 'type', 'created', 'n', '1'));
    await c.cmd('XADD', k('s'), '*', 'type', 'paid', 'n', '2');
    const range = await c.cmd('XRANGE', k('s'), '-', '+');
    assert.equal(range.length, 2);
    assert.equal(str(range[0][0]), id1);
    assert.equal(str(await c.cmd('XGROUP', 'CREATE', k('s'), 'g', '0')), 'OK');
    const got = await c.cmd('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '10', 'STREAMS', k('s'), '>');
    assert.equal(got[0][1].length, 2);
    assert.equal(Number(await c.cmd('XACK', k('s'), 'g', id1)), 1);
    const pending = await c.cmd('XPENDING', k('s'), 'g');
    assert.equal(Number(pending[0]), 1);
  },

  async blocking_read(c) {
    const reader = await c.duplicate();
    const waiting = reader.cmd('XREAD', 'BLOCK', '5000', 'STREAMS', k('b'), '$');
    await new Promise((r) => setTimeout(r, 100));
    await c.cmd('XADD', k('b'), '*', 'f', 'woke');
    const out = await waiting;
    assert.equal(str(out[0][1][0][1][1]), 'woke');
    await reader.close();
  },

  async pubsub(c) {
    const got = [];
    const stop = await c.subscribe(k('ch'), (ch, msg) => got.push([String(ch), String(msg)]));
    for (let i = 0; i < 50 && got.length === 0; i++) {
      await c.cmd('PUBLISH', k('ch'), 'hi');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(got[0], [k('ch'), 'hi']);
    await stop();
  },

  async info(c) {
    const text = String(await c.info());
    assert.match(text, /redis_version:\d+\.\d+/);
    assert.match(text, /connected_clients:\d+/);
    assert.match(text, /loading:0/);
  },

  async flushall(c) {
    await c.cmd('SET', k('f'), '1');
    assert.equal(str(await c.cmd('FLUSHALL')), 'OK');
    assert.equal(Number(await c.cmd('DBSIZE')), 0);
  },
};

const c = await open();
let failed = false;
for (const [name, run] of Object.entries(scenarios)) {
  try {
    await run(c);
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    failed = true;
    break;
  }
}
await c.close();
process.exit(failed ? 1 : 0);
