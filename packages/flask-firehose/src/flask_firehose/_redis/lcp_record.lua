-- RedisLcpStore.record: one visitor's LCP sample kept, atomically, once per report id.
--
-- Every key it touches is declared, and all three share one hash slot (the
-- store's hash tag), so the script runs on a Redis Cluster too.
--
-- KEYS[1]  a hash: store key -> its samples, JSON {"<class>": [[client, url, time], ...]}
--          (each class's list oldest first, at most `samples` long, one per client)
-- KEYS[2]  the store keys, scored by when each last got a sample (the caller's clock, ms)
-- KEYS[3]  the report id's marker, set once (NX) for ttl seconds
-- ARGV     store key, class, client, url, now (ms), samples, ttl (seconds),
--          max_keys, max_classes
-- Returns  1 when the sample was kept, 0 when the report id was used before.

local key = ARGV[1]
local class = ARGV[2]
local client = ARGV[3]
local url = ARGV[4]
local now = tonumber(ARGV[5])
local samples = tonumber(ARGV[6])
local ttl = tonumber(ARGV[7])
local max_keys = tonumber(ARGV[8])
local max_classes = tonumber(ARGV[9])
local oldest = now - ttl * 1000

-- A report id counts once: a marker that exists already (whatever wrote it) is a replay.
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ttl) then
  return 0
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

-- A stored sample is kept only as this script writes it, and while it is fresh.
local function sample_ok(entry)
  return type(entry) == 'table' and #entry == 3 and type(entry[1]) == 'string' and #entry[1] <= 4096
    and type(entry[2]) == 'string' and #entry[2] <= 4096 and type(entry[3]) == 'number'
    and entry[3] > oldest and entry[3] <= now + ttl * 1000
end

local state = {}
local raw = redis.call('HGET', KEYS[1], key)
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == 'table' then state = decoded end
end

local kept = {}
for name, entries in pairs(state) do
  local index = type(name) == 'string' and string.match(name, '^%d+$') and tonumber(name)
  if index and tostring(index) == name and index < max_classes and name ~= class
    and type(entries) == 'table' then
    local fresh = {}
    for _, entry in ipairs(entries) do
      if sample_ok(entry) then fresh[#fresh + 1] = entry end
    end
    while #fresh > samples do table.remove(fresh, 1) end
    if #fresh > 0 then kept[name] = fresh end
  end
end

-- This class: the client's earlier sample goes, the new one is the newest.
local mine = {}
local entries = state[class]
if type(entries) == 'table' then
  for _, entry in ipairs(entries) do
    if sample_ok(entry) and entry[1] ~= client then mine[#mine + 1] = entry end
  end
end
mine[#mine + 1] = {client, url, now}
while #mine > samples do table.remove(mine, 1) end
kept[class] = mine

redis.call('HSET', KEYS[1], key, cjson.encode(kept))
redis.call('ZADD', KEYS[2], now, key)

-- Store keys with no sample for ttl seconds go (a bounded batch), then the
-- least recently sampled past max_keys.
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', oldest), 'LIMIT', 0, 64)
for _, name in ipairs(stale) do
  redis.call('HDEL', KEYS[1], name)
  redis.call('ZREM', KEYS[2], name)
end
local extra = redis.call('ZCARD', KEYS[2]) - max_keys
if extra > 0 then
  local gone = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  for _, name in ipairs(gone) do
    redis.call('HDEL', KEYS[1], name)
    redis.call('ZREM', KEYS[2], name)
  end
end
-- A hash field without an index entry (written by someone else) never
-- outlives the hash: both expire ttl seconds after the last sample.
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
