/**
 * The Lua scripts of the Redis store, each touching one key (so each runs on one cluster
 * slot). Sent by EVALSHA, loaded by EVAL on the node that does not know them yet.
 *
 * Session hash fields: `c` createdAt, `e` expiresAt, `o` owner, `m` maxAge, `d:<key>` one
 * JSON value per session key. Owner index: a set of ids per owner, under its own key.
 */
import { createHash } from "node:crypto";

export interface Script {
  readonly text: string;
  readonly sha: string;
}

const script = (text: string): Script => ({ text, sha: createHash("sha1").update(text).digest("hex") });

/** ARGV: ttl, createdAt, expiresAt, owner ('' none), maxAge ('' none), then field, value pairs. */
export const CREATE = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'e', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'o', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'm', ARGV[5]) end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

/**
 * ARGV: ttl, expiresAt, number of set pairs, owner action ('' keep, '-' remove, '=' set),
 * owner, maxAge action (same), maxAge, then set pairs, then fields to delete.
 * Refuses anything that is not one of our hashes (absent, destroyed, or garbage).
 * Returns 0, or { 1, owner before, owner after } ('' for none).
 */
export const UPDATE = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HEXISTS', KEYS[1], 'c') == 0 then return 0 end
local before = redis.call('HGET', KEYS[1], 'o') or ''
if ARGV[4] == '=' then redis.call('HSET', KEYS[1], 'o', ARGV[5]) elseif ARGV[4] == '-' then redis.call('HDEL', KEYS[1], 'o') end
if ARGV[6] == '=' then redis.call('HSET', KEYS[1], 'm', ARGV[7]) elseif ARGV[6] == '-' then redis.call('HDEL', KEYS[1], 'm') end
local i = 8
for j = 1, tonumber(ARGV[3]) do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i = i + 2 end
while i <= #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]); i = i + 1 end
redis.call('HSET', KEYS[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return { 1, before, redis.call('HGET', KEYS[1], 'o') or '' }`);

/** Deletes the session; returns its owner ('' for none) so the index entry can go too. */
export const DESTROY = script(`
local owner = ''
if redis.call('TYPE', KEYS[1]).ok == 'hash' then owner = redis.call('HGET', KEYS[1], 'o') or '' end
redis.call('DEL', KEYS[1])
return owner`);

/** ARGV: owner. Deletes the session only when it still belongs to that owner; returns 1 if deleted. */
export const DESTROY_IF_OWNER = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`);

/**
 * On an owner set. ARGV: ttl, id. Adds the id and makes the set live at least as long as
 * that session (sets expire with their longest session; dead ids are pruned on reads).
 */
export const OWNER_ADD = script(`
redis.call('SADD', KEYS[1], ARGV[2])
local t = redis.call('PTTL', KEYS[1])
if t >= 0 and t < tonumber(ARGV[1]) or t == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`);

/** On an owner set: its members. */
export const OWNER_MEMBERS = script(`return redis.call('SMEMBERS', KEYS[1])`);

/** On an owner set. ARGV: ids to remove. */
export const OWNER_REMOVE = script(`
for i = 1, #ARGV do redis.call('SREM', KEYS[1], ARGV[i]) end
return 1`);

/** On a session key. ARGV: owner. 1 when the session is live and belongs to that owner. */
export const IS_OWNED_BY = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] then return 1 end
return 0`);
