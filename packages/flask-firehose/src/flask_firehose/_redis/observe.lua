-- RedisHintStore.observe: the counting of MemoryHintStore.observe, atomically.
--
-- Every key it touches is declared, and both share one hash slot (the store's
-- hash tag), so the script runs on a Redis Cluster too.
--
-- KEYS[1]  a hash: endpoint -> its state, JSON {"n": responses, "o": next order,
--          "c": [[key, target, seen, last, order, priority, link JSON], ...]}
--          in order of arrival (ascending order)
-- KEYS[2]  the endpoints, scored by when each was last observed (microseconds
--          of the server's clock, kept strictly increasing: a sorted set)
-- ARGV     endpoint, window, max_links, max_endpoints, ttl (seconds),
--          then key, target, priority, link JSON per link
-- Returns  how many links the endpoint keeps.

local endpoint = ARGV[1]
local window = tonumber(ARGV[2])
local max_links = tonumber(ARGV[3])
local max_endpoints = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])

local function count(x)
  return type(x) == 'number' and x == x and x >= 0 and x < 9007199254740992
end

-- Keys of another type were not written by this store: start over.
local function kind_of(n)
  local kind = redis.call('TYPE', KEYS[n])
  if type(kind) == 'table' then kind = kind.ok end
  return kind
end
local kind = kind_of(1)
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
kind = kind_of(2)
if kind ~= 'zset' and kind ~= 'none' then redis.call('DEL', KEYS[2]) end

-- Endpoints not observed for ttl seconds are forgotten (a bounded batch per call).
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', now_us - ttl * 1000000),
  'LIMIT', 0, 64)
for _, name in ipairs(stale) do
  redis.call('HDEL', KEYS[1], name)
  redis.call('ZREM', KEYS[2], name)
end

local n, next_order, candidates, index = 0, 0, {}, {}
local raw = redis.call('HGET', KEYS[1], endpoint)
if type(raw) == 'string' and #raw <= 1048576 then
  local ok, state = pcall(cjson.decode, raw)
  if ok and type(state) == 'table' and count(state.n) and count(state.o) and type(state.c) == 'table' then
    n, next_order = state.n, state.o
    for _, c in ipairs(state.c) do
      if #candidates >= max_links then break end
      if type(c) == 'table' and type(c[1]) == 'string' and type(c[2]) == 'string' and count(c[3])
          and count(c[4]) and count(c[5]) and count(c[6]) and type(c[7]) == 'string' and index[c[1]] == nil then
        local kept = {c[1], c[2], c[3], c[4], c[5], c[6], c[7]}
        candidates[#candidates + 1] = kept
        index[c[1]] = kept
        if c[4] > n then n = c[4] end
        if c[5] >= next_order then next_order = c[5] + 1 end
      end
    end
    table.sort(candidates, function(a, b) return a[5] < b[5] end)
  end
end

n = n + 1
local now = n
local live = #candidates
for i = 6, #ARGV, 4 do
  local key, target, priority, link = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local c = index[key]
  if c ~= nil then
    if c[2] ~= target then
      -- A new build of a known asset: start over, old one gone, place kept.
      c[2], c[3], c[4], c[6], c[7] = target, 1, now, priority, link
    elseif c[4] ~= now then
      c[3], c[4] = c[3] + 1, now
    end
  else
    local order = next_order
    next_order = next_order + 1
    local admit = true
    if live >= max_links then
      local worst = nil
      for _, w in ipairs(candidates) do
        if not w.gone and (worst == nil or w[6] > worst[6] or (w[6] == worst[6] and w[5] > worst[5])) then
          worst = w
        end
      end
      if priority > worst[6] or (priority == worst[6] and order >= worst[5]) then
        admit = false -- the kept set is better: stay stable
      else
        worst.gone = true
        index[worst[1]] = nil
        live = live - 1
      end
    end
    if admit then
      local new = {key, target, 1, now, order, priority, link}
      candidates[#candidates + 1] = new
      index[key] = new
      live = live + 1
    end
  end
end

local kept = {}
for _, c in ipairs(candidates) do
  if not c.gone and now - c[4] < window then
    kept[#kept + 1] = {c[1], c[2], c[3], c[4], c[5], c[6], c[7]}
  end
end
local encoded = '[]'
if #kept > 0 then encoded = cjson.encode(kept) end
redis.call('HSET', KEYS[1], endpoint, '{"n":' .. string.format('%d', n) .. ',"o":' .. string.format('%d', next_order)
  .. ',"c":' .. encoded .. '}')

-- The least recently observed endpoints go first past max_endpoints.
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local score = now_us
if top[2] ~= nil and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end
redis.call('ZADD', KEYS[2], string.format('%.0f', score), endpoint)
local extra = redis.call('ZCARD', KEYS[2]) - max_endpoints
if extra > 0 then
  for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do
    redis.call('HDEL', KEYS[1], name)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return #kept
