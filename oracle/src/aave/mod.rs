//! A real Aave v3.0 market on a local chain: the `sol!` bindings of Aave's contracts
//! ([`bindings`]) and [`deploy::deploy_aave`], which deploys Aave's own compiled contracts (the
//! `@aave/core-v3` npm artifacts, libraries linked) with test tokens and price feeds we control.

pub mod bindings;
pub mod deploy;
pub mod sim;
