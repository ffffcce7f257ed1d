--[[
  Takes ownership of one partition: increments its fencing epoch and returns its durable
  position, its pending timers and its un-acknowledged outbox entries.

  Input:
    KEYS[1] meta    hash: epoch, next_offset, max_et, wm, outbox_seq
    KEYS[2] timers  zset: timerId -> fire time (ms)
    KEYS[3] outbox  list: '{"seq":<n>,"effects":[...]}', oldest first

  Output: { epoch, nextOffset, maxEventTimeMs, watermarkMs, timers, outbox }
    epoch           integer, the new epoch (1 on the first claim)
    nextOffset      string, '' when the partition was never committed
    maxEventTimeMs  string, '' when never committed
    watermarkMs     string, '' when never committed
    timers          flat array { timerId, atMs, timerId, atMs, ... }, ordered by atMs
    outbox          array of entry JSON strings, oldest first

  Missing values are '' rather than false: a Lua false becomes a RESP3 boolean for RESP3
  clients and a null for RESP2 ones, and the adapter must not depend on the protocol.
]]
local rcall = redis.call
local epoch = rcall('HINCRBY', KEYS[1], 'epoch', 1)
local meta = rcall('HMGET', KEYS[1], 'next_offset', 'max_et', 'wm')
return {
  epoch,
  meta[1] or '',
  meta[2] or '',
  meta[3] or '',
  rcall('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),
  rcall('LRANGE', KEYS[3], 0, -1),
}
