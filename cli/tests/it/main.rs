//! End-to-end tests of the `zkrisk` binary. They need the set-up of `scripts/setup.sh` (Foundry
//! tools, the ezkl virtualenv, the contracts' build); `scripts/test.sh` runs it first.

mod demo;
