"""Writes docs/SCALING.md from the figures bench/scale.sh measured (in its
environment): the run's table, then what 300,000 and 1,000,000 votes/s
need, computed from those figures with the assumptions named."""
import math
import os
from datetime import datetime, timezone

e = os.environ
num = lambda k: float(e.get(k) or 0)  # noqa: E731
dur = num("DURATION")

t_rps, o_rps, ceil = num("T_RPS"), num("O_RPS"), num("CEIL_RPS")
t_counted, o_counted = num("T_COUNTED"), num("O_COUNTED")
t_commits, o_commits = num("T_COMMITS"), num("O_COMMITS")
t_pub, t_redis = num("T_PUBLISH"), num("T_REDIS")

# Per instance, per poll: commits/s with three instances sharing the load.
per_inst_commits = t_commits / dur / 3 if dur else 0
per_1000 = t_commits / t_counted * 1000 if t_counted else 0
per_1000_one = o_commits / o_counted * 1000 if o_counted else 0
pub_per_commit = t_pub / t_commits if t_commits else 0


def exact(ok, counted, errors):
    # wrk stops with up to one request in flight per connection: those
    # votes are counted (they committed) but their answers are not seen.
    ok, counted, errors = int(ok), int(counted), int(errors)
    unseen = int(num("CONNECTIONS")) + errors
    holds = ok <= counted <= ok + unseen
    return (
        f"{counted:,} counted, {ok:,} acknowledged, {counted - ok:,} in flight when wrk stopped"
        + (" (at most one a connection): exact" if holds else ": **NOT EXACT**")
    )


# The projection. A production instance is assumed to run on its own two
# cores, without the load generator, the balancer and Postgres beside it:
# it does at least the one-instance figure measured here through the same
# balancer (a lower bound), and is planned at 70 % of it.
HEADROOM = 0.7
per_instance = o_rps * HEADROOM


def plan(target):
    n = math.ceil(target / per_instance) if per_instance else 0
    commits = n * per_inst_commits
    publishes = commits * pub_per_commit
    deliveries = publishes * max(n - 1, 0)
    return n, commits, publishes, deliveries


rows = []
for target in (300_000, 1_000_000):
    n, commits, publishes, deliveries = plan(target)
    rows.append(
        f"| {target:,} | {n} | {commits:,.0f} | {commits / target * 1000:.2f} | {publishes:,.0f} | {deliveries:,.0f} | up to {target:,} (one `INCRBY` a network a sync, pipelined) |"
    )

print(f"""# Scaling out

Written by `bash bench/scale.sh` on {datetime.now(timezone.utc):%Y-%m-%d} at commit `{e.get("COMMIT_SHA")}`, on {e.get("CORES")} cores.
Three urna instances (release build, each its own shard) behind HAProxy
{e.get("HAPROXY_VERSION")} (round robin, keep-alive, health checks on `/readyz`), one
Postgres {e.get("PG_VERSION")} (`synchronous_commit = {e.get("SYNC_COMMIT")}`) and one Redis, wrk with
{e.get("CONNECTIONS")} connections through the balancer, {e.get("DURATION")} s a run; then one instance
behind the same balancer. **Everything shares the same {e.get("CORES")} cores**: the three
instances, HAProxy, Postgres, Redis and wrk. On this machine more instances
cannot mean more votes/s; the run shows that votes spread over instances
stay exact and what each vote costs the shared Postgres and Redis, which is
what the projection below needs.

## Measured (one run)

| run | votes/s through HAProxy | p99 | answers | exact total | Postgres commits (all transactions) | commits per 1,000 votes | Redis PUBLISH (one per batch) | Redis commands |
| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |
| `GET /healthz`, 3 instances (ceiling through the balancer) | {ceil:,.0f} | | | | | | | |
| durable votes, 3 instances | **{t_rps:,.0f}** | {e.get("T_P99")} ms | {int(num("T_OK")):,} × 2xx, {int(num("T_OTHER")):,} other | {exact(num("T_OK"), t_counted, num("T_ERR"))} | {int(t_commits):,} ({t_commits / dur:,.0f}/s) | {per_1000:.2f} | {int(t_pub):,} ({t_pub / dur:,.0f}/s) | {int(t_redis):,} ({t_redis / dur:,.0f}/s) |
| durable votes, 1 instance | {o_rps:,.0f} | {e.get("O_P99")} ms | {int(num("O_OK")):,} × 2xx, {int(num("O_OTHER")):,} other | {exact(num("O_OK"), o_counted, num("O_ERR"))} | {int(o_commits):,} ({o_commits / dur:,.0f}/s) | {per_1000_one:.2f} | {int(num("O_PUBLISH")):,} | {int(num("O_REDIS")):,} |

Votes per shard with three instances: {e.get("T_SHARES")}. Three instances
reach {t_rps / o_rps if o_rps else 0:.2f}× one instance's votes/s on these shared cores
and {t_rps / ceil if ceil else 0:.2f}× the balancer's ceiling.

Each instance commits one batch per poll at a time (group commit): its
commits/s are set by the commit's round trip, not by the vote rate, so
batches grow with the load and commits per 1,000 votes fall as it rises.
With three instances Postgres counted {per_inst_commits:,.0f} transactions/s per
instance: its batches, and the few reads each instance makes every second
(schedules, other shards' counts). Each batch published one Redis message
(its shard's new totals; {pub_per_commit:.2f} per transaction), delivered to every
other instance. Rate limits cost Redis one pipelined `INCRBY` per
key (network or voter) an instance saw in each 100 ms, not one per vote;
here all load came from one address, so that cost is at its least.

## What 300,000 and 1,000,000 votes/s need

Computed by `bench/scale_report.py` from the figures above, on these
assumptions, each a place where the real figure may differ:

- **Per instance**: {per_instance:,.0f} durable votes/s, that is 70 % of the one
  instance measured here through the balancer ({o_rps:,.0f}/s), on its own 2 cores
  (a fly.io `performance-2x` or any 2-vCPU VM); the load generator, HAProxy,
  Postgres and Redis took part of these cores, so this is a lower bound.
  Without the balancer `bench/bench.sh` measured 47,282/s on this machine.
- **Postgres**: each instance makes about {per_inst_commits:,.0f} transactions/s with one poll
  open, nearly all of them batches (measured with three; it stays near that
  as the load per instance stays the same: batches grow instead).
- **Redis**: one PUBLISH per batch ({pub_per_commit:.2f} per transaction measured), delivered to each
  of the other instances; rate limits worst case one `INCRBY` per vote when
  every vote comes from another network within 100 ms.
- Unlimited tracks, receipts on, durable acknowledgement. A one-per-voter
  track adds a row per vote (its voter mark) to the same transactions;
  votes with a row each (`Idempotency-Key`) ran at 0.60× plain votes in
  `bench/guards.sh`, so plan those at 0.6 × the per-instance figure.

| votes/s | instances | Postgres commits/s | commits per 1,000 votes | Redis PUBLISH/s | Redis deliveries/s | rate-limit `INCRBY`/s |
| ---: | ---: | ---: | ---: | ---: | ---: | --- |
{chr(10).join(rows)}

(The largest public vote found reported about 250 million votes in 15
minutes, ~278,000/s; BBB 2020 peaked at ~25,000/s.)

## Where the first bottleneck is, and what urna does about it

1. **The HTTP tier** scales by adding instances: counters are sharded per
   instance, so instances never wait on each other's rows, and nothing in
   the vote path crosses instances but the commit's Postgres round trip and
   the fan-out after it. The instances above are the bulk of the cost.
2. **Postgres commits** grow with instances, not with votes: the rows above
   are a few thousand commits/s, which one Postgres primary with group
   commit on NVMe takes (pgbench's one-`UPDATE`-per-vote design on this
   machine did 3,874 commits/s with `fsync` on, with 64 clients). What grows
   with votes is the rows a vote writes beyond the counters: a voter mark on
   one-per-voter tracks, a key with `Idempotency-Key`. At 1,000,000 votes/s
   on one-per-voter tracks that is 1,000,000 inserts/s into one index —
   **the first bottleneck**, well before the commit rate. urna batches them
   (one statement per batch and kind of row, `jsonb_to_recordset`), keyed so
   that instances never conflict; past one primary's insert rate the answer
   is to split polls (or one poll's tracks) across Postgres primaries, which
   the shard-per-instance design allows but urna does not do yet.
3. **Redis** carries one message per commit to every other instance:
   deliveries grow with instances² (the table's last but one column), a
   few hundred thousand a second at 1,000,000 votes/s — within one Redis.
   Rate limits worst case add one pipelined `INCRBY` per vote, up to
   1,000,000/s at the top row: near one Redis's limit. Redis is never on
   the durability path (a Redis away goes unnoticed by voters, see
   docs/RELIABILITY.md); past that, raise the limiter's sync period or shard
   its keys over a Redis Cluster.
4. **The balancer**: one HAProxy process on these 2 cores relayed
   {ceil:,.0f} requests/s; at the top row plan several balancers (DNS or anycast
   in front, as fly's edge does).
""")
