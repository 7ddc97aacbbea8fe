#!/usr/bin/env bash
# GET /api/v1/products without Swiftlet's catalogue cache beside the Go peer, in ROUNDS
# alternating rounds on each engine (bench/catalogue_rounds.py says why): each round's
# ratio and the median. Same setting as bench/orders-peers.sh (it installs what it needs);
# not part of the test command.
#
#   bench/catalogue-rounds.sh                         # 5 rounds, PostgreSQL and SQLite
#   ROUNDS=9 ENGINES=postgres bench/catalogue-rounds.sh
#   SKIP_BUILD=1 bench/catalogue-rounds.sh            # use the production binary already built
#   WHAT=orders ENGINES=postgres bench/catalogue-rounds.sh   # POST /api/v1/orders instead
exec "$(cd "$(dirname "$0")" && pwd)/orders-peers.sh" catalogue_rounds.py
