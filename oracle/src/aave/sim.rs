//! A market that behaves like one: hundreds of seeded accounts supply, borrow, repay and withdraw
//! on a deployed Aave v3 market ([`super::deploy::AaveMarket`]) while the price feeds follow real
//! daily candles (`data/prices/`), and a liquidator calls `Pool.liquidationCall` on every account
//! whose health factor falls below 1. The chain then holds genuine Aave v3 events (`Supply`,
//! `Borrow`, `Repay`, `Withdraw`, `LiquidationCall`, `ReserveDataUpdated`, the feeds'
//! `AnswerUpdated`), liquidations after real drawdowns included.
//!
//! # How it runs
//! The simulator needs an anvil node: it sends every transaction with `eth_sendTransaction` from
//! impersonated accounts (`anvil_autoImpersonateAccount`, `anvil_setBalance` for gas), so no keys
//! are needed. It turns automine off and mines each batch itself (`evm_setNextBlockTimestamp`,
//! `evm_mine`), with every transaction's nonce, gas limit and gas price fixed by the simulator.
//! Transactions are sent one after the other and, all at one gas price, anvil mines them in the
//! order they were sent. The same seed and the same data therefore give the same transactions in
//! the same blocks at the same times, and the same events. The block gas limit is raised so that a
//! batch fits one block; at the end, or on an error, automine is switched back on, impersonation
//! off, and the gas limit restored. A small view contract,
//! `contracts/src/sim/AccountScanner.sol`, reads the account data of hundreds of accounts in one
//! `eth_call`.
//!
//! Each simulated day `D` starting at chain time `T` (the window's first day maps to the node's
//! clock when the node is already past it: the cadence is kept, the dates shift):
//! - **Prices** at four points: `T` (open), `T + 6 h` and `T + 12 h` (the day's low and high, low
//!   first when the day closed below its open, high first otherwise: the path a candle implies), and
//!   `T + 23 h` (close). At each point the market's admin calls `setAnswer` on every feed (8
//!   decimals, USD) in one block.
//! - **Liquidations** right after each price point: the scanner reads every borrower's health
//!   factor; for each one below 1 with collateral left, the liquidator (minted the debt token)
//!   calls `liquidationCall(largest collateral, largest debt, user, type(uint256).max, false)`.
//!   Aave v3.0 caps the repaid debt at 50 % (100 % below a health factor of 0.95); the pass repeats
//!   (up to [`LIQUIDATION_ROUNDS`] blocks) until no account with collateral is below 1. Accounts with
//!   debt and no collateral are bad debt and are counted, not liquidated.
//! - **Activity** one hour after each of the first `steps_per_day` price points: new accounts join,
//!   each joined account acts with probability `activity`, and attentive borrowers close to
//!   liquidation defend their position.
//!
//! # Population (the distributions and why)
//! - **Kinds**: 20 % lenders (supply only: 85 % stablecoins, 15 % WETH), 80 % borrowers. Aave v3's
//!   supply side is dominated by passive stablecoin and ETH suppliers; most borrowers post
//!   volatile collateral.
//! - **Size** (USD, lognormal, heavy-tailed): borrowers' collateral median 15,000, σ = 1.6 (p90
//!   ≈ 117k, p99 ≈ 620k, the largest of 300 about 1.5M); lenders median 10,000, σ = 1.5. On-chain
//!   position sizes are close to lognormal with a few whales holding a large share.
//! - **Collateral**: WETH 40 %, wstETH 25 %, WBTC 25 %, USDC 5 %, DAI 5 %; a quarter of borrowers
//!   add a second volatile collateral worth 30 % of the position.
//! - **Debt**: against WETH: USDC 45 %, USDT 25 %, DAI 30 %; against WBTC: USDC 45 %, USDT 25 %,
//!   DAI 25 %, WETH 5 %; against wstETH: WETH 40 % (leveraged staking), USDC 30 %, USDT 15 %, DAI
//!   15 %; against stablecoins: WETH (a short on ETH). Stablecoin debt against ETH is the bulk of
//!   Aave's borrowing.
//! - **Target health factor**: 12 % aggressive, log-uniform on 1.05–1.2; 73 % ordinary,
//!   log-uniform on 1.2–3; 15 % conservative, log-uniform on 3–8. Aave never lets a borrow exceed
//!   the LTV, so a target below `LT / LTV` (about 1.03–1.15) becomes `LT / LTV` plus 0.5 %. Risk
//!   dashboards of Aave show most debt at health factors 1.2–3 and a thin tail below 1.2.
//! - **Vigilance**: 40 % of borrowers are attentive, with an alarm level log-uniform on 1.05–1.3:
//!   in each activity round in which their health factor is under the alarm, they act with
//!   probability 0.7, repaying (60 %) or adding collateral (40 %) back to their target. The others
//!   never react, as many real positions are not watched.
//! - **Arrival**: half the accounts open positions on the first day, the others on a uniformly
//!   drawn later day.
//! - **Actions** of an account that acts: lenders supply 10–40 % of their size more (55 %),
//!   withdraw 10–60 % (40 %) or leave (5 %); borrowers borrow back up to their target when 15 %
//!   above it, within Aave's LTV bound (33 %), repay 10–50 % (22 %), supply 10–40 % more collateral
//!   (22 %), withdraw collateral down to 1.05 × their target (20 %), or close the position (3 %:
//!   repay all, withdraw all; they do not come back). Positions therefore live for months, as
//!   most Aave positions do, and deleverage in a crash (borrowing back needs headroom, repaying
//!   does not).
//! - **Liquidity**: a treasury account (like the large passive suppliers of a real market) seeds
//!   250k USD of each stablecoin and 100 WETH, and tops a reserve up whenever the round's borrows
//!   and withdrawals would take more than 90 % of its available liquidity, so they never fail for
//!   lack of cash while utilisation stays high, as it does in real markets.
//!
//! Randomness comes from an in-module xoshiro256** generator seeded through SplitMix64 (the
//! reference algorithms of Blackman and Vigna); the addresses of the accounts are
//! `keccak256("zkrisk-sim" ‖ seed ‖ index)[12..]`.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    time::Instant,
};

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
    sol_types::{SolCall, SolEvent},
};
use serde::Serialize;
use zkrisk_pipeline::prices::{
    DailyOhlcv, day_from_ymd, load_daily_ohlcv, load_daily_snapshot_ohlc, ymd,
};

use super::{
    bindings::{IPool, PriceFeed, TestERC20},
    deploy::{AaveMarket, ReserveInfo},
};
use crate::{Error, Result, chain};

mod scanner {
    alloy::sol! {
        /// `contracts/src/sim/AccountScanner.sol`: batch views over an Aave v3 pool.
        #[sol(rpc)]
        contract AccountScanner {
            /// One account's `getUserAccountData`.
            struct AccountData {
                uint256 totalCollateralBase;
                uint256 totalDebtBase;
                uint256 availableBorrowsBase;
                uint256 currentLiquidationThreshold;
                uint256 ltv;
                uint256 healthFactor;
            }
            function healthFactors(address pool, address[] calldata users) external view returns (uint256[] memory hfs);
            function accountData(address pool, address[] calldata users) external view returns (AccountData[] memory data);
            function balances(address[] calldata tokens, address[] calldata users) external view returns (uint256[] memory out);
        }
    }
}
use scanner::AccountScanner;

/// Most liquidation blocks after one price point (each repeats the pass on the accounts still
/// below a health factor of 1).
pub const LIQUIDATION_ROUNDS: usize = 8;
/// Gas limit of every simulated transaction (Aave's heaviest call here, a liquidation, needs
/// about a fifth of it).
const TX_GAS: u64 = 3_000_000;
/// Gas price of every transaction: one value for all keeps the order of a block the order of
/// submission.
const GAS_PRICE: u64 = 10_000_000_000;
/// Block gas limit the simulator sets, so that a whole batch fits one block.
const BLOCK_GAS_LIMIT: u64 = 1_000_000_000_000;
/// Accounts per scanner call.
const SCAN_CHUNK: usize = 100;
/// Seconds from a day's start to its four price points.
const POINT_OFFSETS: [u64; 4] = [0, 6 * 3600, 12 * 3600, 23 * 3600];
/// Spacing of the blocks that follow a price point or an activity round.
const BLOCK_SPACING: u64 = 12;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every random draw: the same seed and prices give the same transactions.
    pub seed: u64,
    /// Number of user accounts (lenders and borrowers; the treasury and the liquidator come on
    /// top).
    pub accounts: usize,
    /// First simulated day, `YYYY-MM-DD` (UTC).
    pub start: String,
    /// Number of simulated days.
    pub days: u32,
    /// Activity rounds per day, 1 to 3 (after the open, the first and the second intraday price).
    pub steps_per_day: u32,
    /// Probability that a joined account acts in an activity round (0 to 1).
    pub activity: f64,
}

impl Default for SimConfig {
    /// 300 accounts over 2022-05-01 → 2022-06-30: the Terra collapse and the 3AC/Celsius crash
    /// (ETH −60 % from open to its low, stETH trading at a discount).
    fn default() -> Self {
        Self {
            seed: 1,
            accounts: 300,
            start: "2022-05-01".into(),
            days: 61,
            steps_per_day: 2,
            activity: 0.1,
        }
    }
}

impl SimConfig {
    /// The first day as a day number, after checking every field.
    fn check(&self) -> Result<i64> {
        let bad = |m: String| Err(Error::Sim(m));
        let Some(day) = day_from_ymd(&self.start) else {
            return bad(format!("start `{}` is not a date YYYY-MM-DD", self.start));
        };
        if self.accounts == 0 {
            return bad("accounts must be at least 1".into());
        }
        if self.days == 0 {
            return bad("days must be at least 1".into());
        }
        if !(1..=3).contains(&self.steps_per_day) {
            return bad(format!("steps_per_day must be 1 to 3, not {}", self.steps_per_day));
        }
        if !(0.0..=1.0).contains(&self.activity) {
            return bad(format!("activity must be in [0, 1], not {}", self.activity));
        }
        Ok(day)
    }
}

/// Daily USD candles per reserve symbol (`WETH`, `WBTC`, `wstETH`, `USDC`, `USDT`, `DAI`).
#[derive(Debug, Clone, Default)]
pub struct PricePaths {
    /// The candles of each symbol.
    pub series: BTreeMap<String, DailyOhlcv>,
}

impl PricePaths {
    /// Loads the shipped price files under `data_dir` (`data/`): WETH, WBTC, wstETH, USDC and USDT
    /// from `prices/daily-ohlcv/`, DAI from the `DAI` column of `prices/primary_token_price.csv`
    /// (see `data/README.md`).
    ///
    /// # Errors
    /// [`Error::Pipeline`] naming the file that is missing or malformed.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join("prices");
        let mut series = BTreeMap::new();
        for (symbol, file) in [
            ("WETH", "15.WETH-USD.csv"),
            ("WBTC", "18.WBTC-USD.csv"),
            ("wstETH", "14.WSTETH-USD.csv"),
            ("USDC", "7.USDC-USD.csv"),
            ("USDT", "3.USDT-USD.csv"),
        ] {
            series
                .insert(symbol.to_string(), load_daily_ohlcv(&dir.join("daily-ohlcv").join(file))?);
        }
        series.insert(
            "DAI".to_string(),
            load_daily_snapshot_ohlc(&dir.join("primary_token_price.csv"), "DAI")?,
        );
        Ok(Self { series })
    }

    fn get(&self, symbol: &str) -> Option<&DailyOhlcv> {
        self.series.get(symbol).or_else(|| {
            self.series.iter().find(|(k, _)| k.eq_ignore_ascii_case(symbol)).map(|(_, v)| v)
        })
    }
}

/// Progress after one simulated day.
#[derive(Debug, Clone, Serialize)]
pub struct DayProgress {
    /// Day index in the window, from 0.
    pub day: u32,
    /// The simulated date, `YYYY-MM-DD`.
    pub date: String,
    /// WETH close of the day, USD.
    pub eth_usd: f64,
    /// Liquidations so far.
    pub liquidations: u64,
    /// Transactions so far.
    pub txs: u64,
    /// Latest block.
    pub block: u64,
}

/// What a simulation did; the counts come from the events in the mined receipts.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// First simulated day.
    pub start: String,
    /// Last simulated day.
    pub end: String,
    /// Simulated days.
    pub days: u32,
    /// User accounts that opened a position.
    pub accounts: usize,
    /// Transactions sent (price updates, mints and approvals included).
    pub txs: u64,
    /// Transactions that reverted (0 in a healthy run).
    pub failed_txs: u64,
    /// `Supply` events.
    pub supplies: u64,
    /// `Borrow` events.
    pub borrows: u64,
    /// `Repay` events (liquidations excluded: Aave v3.0 emits no `Repay` for them).
    pub repays: u64,
    /// `Withdraw` events.
    pub withdrawals: u64,
    /// `LiquidationCall` events.
    pub liquidations: u64,
    /// Distinct accounts liquidated at least once.
    pub liquidated_accounts: usize,
    /// Debt repaid by liquidations, USD at the prices of the moment.
    pub liquidated_debt_usd: f64,
    /// Collateral seized by liquidations, USD at the prices of the moment.
    pub liquidated_collateral_usd: f64,
    /// Accounts left with debt and no collateral (bad debt) at the end.
    pub bad_debt_accounts: usize,
    /// Their debt, USD.
    pub bad_debt_usd: f64,
    /// First block the simulation mined.
    pub first_block: u64,
    /// Last block it mined.
    pub last_block: u64,
    /// Seconds the simulation took (wall clock).
    pub seconds: f64,
    /// Transactions per second of wall clock.
    pub tx_per_second: f64,
    /// Chain time minus historical time, seconds (0 when the node's clock was before the window).
    pub time_shift: u64,
    /// The liquidator.
    pub liquidator: Address,
    /// The liquidity provider of last resort.
    pub treasury: Address,
    /// The deployed `AccountScanner`.
    pub scanner: Address,
    /// Every user account that opened a position, in order of arrival.
    pub account_list: Vec<Address>,
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// xoshiro256** seeded by SplitMix64.
#[derive(Debug, Clone)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self([next(), next(), next(), next()])
    }

    const fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on [0, 1).
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.f64()).exp()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// An index drawn with the given weights.
    fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------------------------
// The population

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Lender,
    Borrower,
}

#[derive(Debug, Clone)]
struct Account {
    addr: Address,
    role: Role,
    /// Day index on which the account opens its position.
    join_day: u32,
    joined: bool,
    closed: bool,
    /// Position size, USD.
    size: f64,
    /// Collateral (or supplied) reserves and their share of `size`.
    supplies: Vec<(usize, f64)>,
    debt: Option<usize>,
    target_hf: f64,
    /// Health factor under which an attentive borrower defends the position.
    alarm: Option<f64>,
}

/// Reserve indices of the simulator's six symbols.
#[derive(Debug, Clone, Copy)]
struct Idx {
    weth: usize,
    wbtc: usize,
    wsteth: usize,
    usdc: usize,
    usdt: usize,
    dai: usize,
}

fn account_address(seed: u64, index: u64) -> Address {
    let mut buf = b"zkrisk-sim".to_vec();
    buf.extend(seed.to_be_bytes());
    buf.extend(index.to_be_bytes());
    Address::from_slice(&keccak256(&buf)[12..])
}

fn population(cfg: &SimConfig, idx: Idx) -> Vec<Account> {
    let mut rng = Rng::new(cfg.seed ^ 0x706f_7075_6c61_7465);
    (0..cfg.accounts)
        .map(|i| {
            let addr = account_address(cfg.seed, i as u64);
            let join_day =
                if rng.chance(0.5) { 0 } else { (rng.f64() * f64::from(cfg.days)) as u32 };
            if rng.chance(0.2) {
                let asset =
                    [idx.usdc, idx.usdt, idx.dai, idx.weth][rng.pick(&[0.40, 0.25, 0.20, 0.15])];
                return Account {
                    addr,
                    role: Role::Lender,
                    join_day,
                    joined: false,
                    closed: false,
                    size: rng.lognormal(10_000.0, 1.5).clamp(100.0, 50_000_000.0),
                    supplies: vec![(asset, 1.0)],
                    debt: None,
                    target_hf: f64::INFINITY,
                    alarm: None,
                };
            }
            let primary = [idx.weth, idx.wsteth, idx.wbtc, idx.usdc, idx.dai]
                [rng.pick(&[0.40, 0.25, 0.25, 0.05, 0.05])];
            let debt = if primary == idx.weth {
                [idx.usdc, idx.usdt, idx.dai][rng.pick(&[0.45, 0.25, 0.30])]
            } else if primary == idx.wbtc {
                [idx.usdc, idx.usdt, idx.dai, idx.weth][rng.pick(&[0.45, 0.25, 0.25, 0.05])]
            } else if primary == idx.wsteth {
                [idx.weth, idx.usdc, idx.usdt, idx.dai][rng.pick(&[0.40, 0.30, 0.15, 0.15])]
            } else {
                idx.weth
            };
            let mut supplies = vec![(primary, 1.0)];
            let volatile = [idx.weth, idx.wsteth, idx.wbtc];
            if volatile.contains(&primary) && rng.chance(0.25) {
                let others: Vec<usize> =
                    volatile.iter().copied().filter(|r| *r != primary && *r != debt).collect();
                if !others.is_empty() {
                    let second = others[rng.pick(&vec![1.0; others.len()])];
                    supplies = vec![(primary, 0.7), (second, 0.3)];
                }
            }
            let target_hf = match rng.pick(&[0.12, 0.73, 0.15]) {
                0 => rng.log_uniform(1.05, 1.2),
                1 => rng.log_uniform(1.2, 3.0),
                _ => rng.log_uniform(3.0, 8.0),
            };
            let alarm = rng.chance(0.4).then(|| rng.log_uniform(1.05, 1.3));
            Account {
                addr,
                role: Role::Borrower,
                join_day,
                joined: false,
                closed: false,
                size: rng.lognormal(15_000.0, 1.6).clamp(100.0, 50_000_000.0),
                supplies,
                debt: Some(debt),
                target_hf,
                alarm,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The node

/// Tallies of the mined receipts.
#[derive(Debug, Default, Clone)]
struct Tally {
    txs: u64,
    failed: u64,
    supplies: u64,
    borrows: u64,
    repays: u64,
    withdrawals: u64,
    liquidations: u64,
    liquidated_debt_usd: f64,
    liquidated_collateral_usd: f64,
    liquidated: std::collections::BTreeSet<Address>,
    first_block: Option<u64>,
    last_block: u64,
}

/// The node as the simulator drives it: queued transactions with fixed nonces, mined in blocks at
/// chosen times.
struct Node<'a> {
    provider: &'a DynProvider,
    nonces: HashMap<Address, u64>,
    queued: u64,
    last_ts: u64,
    tally: Tally,
    pool: Address,
    /// Reserve asset → (index, decimals).
    assets: HashMap<Address, (usize, u8)>,
}

fn rpc(what: &str) -> impl FnOnce(alloy::transports::TransportError) -> Error + '_ {
    move |e| Error::Rpc(format!("{what}: {e}"))
}

fn hex_u(v: impl std::fmt::LowerHex) -> String {
    format!("0x{v:x}")
}

impl<'a> Node<'a> {
    async fn raw(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value> {
        self.provider.raw_request(method.into(), params).await.map_err(rpc(method))
    }

    async fn nonce(&mut self, from: Address) -> Result<u64> {
        if let Some(n) = self.nonces.get(&from) {
            return Ok(*n);
        }
        let n = self.provider.get_transaction_count(from).pending().await.map_err(rpc("nonce"))?;
        self.nonces.insert(from, n);
        Ok(n)
    }

    async fn send(&mut self, from: Address, to: Option<Address>, data: Vec<u8>) -> Result<()> {
        let nonce = self.nonce(from).await?;
        let mut tx = serde_json::json!({
            "from": from,
            "data": Bytes::from(data),
            "gas": hex_u(TX_GAS),
            "gasPrice": hex_u(GAS_PRICE),
            "nonce": hex_u(nonce),
            "value": "0x0",
        });
        if let Some(to) = to {
            tx["to"] = serde_json::json!(to);
        }
        let _: B256 = self
            .provider
            .raw_request("eth_sendTransaction".into(), (tx,))
            .await
            .map_err(rpc("eth_sendTransaction"))?;
        self.nonces.insert(from, nonce + 1);
        self.queued += 1;
        Ok(())
    }

    async fn call(&mut self, from: Address, to: Address, call: impl SolCall) -> Result<()> {
        self.send(from, Some(to), call.abi_encode()).await
    }

    /// Mines the queued transactions in one block at `ts` (later than the previous block) and
    /// tallies their receipts; `prices` values the liquidations.
    async fn mine(&mut self, ts: u64, prices: &[f64]) -> Result<Vec<TransactionReceipt>> {
        let ts = ts.max(self.last_ts + 1);
        self.raw("evm_setNextBlockTimestamp", serde_json::json!([ts])).await?;
        self.raw("evm_mine", serde_json::json!([])).await?;
        self.last_ts = ts;
        let block = self.provider.get_block_number().await.map_err(rpc("eth_blockNumber"))?;
        let receipts = self
            .provider
            .get_block_receipts(block.into())
            .await
            .map_err(rpc("eth_getBlockReceipts"))?
            .unwrap_or_default();
        if receipts.len() as u64 != self.queued {
            return Err(Error::Sim(format!(
                "block {block} holds {} of the {} queued transactions (is another client sending \
                 to this node?)",
                receipts.len(),
                self.queued
            )));
        }
        self.queued = 0;
        self.tally.first_block.get_or_insert(block);
        self.tally.last_block = block;
        self.tally.txs += receipts.len() as u64;
        for r in &receipts {
            if !r.status() {
                self.tally.failed += 1;
                tracing::warn!(tx = %r.transaction_hash, from = %r.from, to = ?r.to, "simulated transaction reverted");
            }
            for log in r.inner.logs() {
                if log.address() != self.pool {
                    continue;
                }
                let Some(topic) = log.topic0() else { continue };
                match *topic {
                    IPool::Supply::SIGNATURE_HASH => self.tally.supplies += 1,
                    IPool::Borrow::SIGNATURE_HASH => self.tally.borrows += 1,
                    IPool::Repay::SIGNATURE_HASH => self.tally.repays += 1,
                    IPool::Withdraw::SIGNATURE_HASH => self.tally.withdrawals += 1,
                    IPool::LiquidationCall::SIGNATURE_HASH => {
                        let e = IPool::LiquidationCall::decode_log_data(log.data())
                            .map_err(|e| Error::Sim(format!("LiquidationCall log: {e}")))?;
                        self.tally.liquidations += 1;
                        self.tally.liquidated.insert(e.user);
                        let usd = |asset: Address, amount: U256| {
                            self.assets
                                .get(&asset)
                                .map_or(0.0, |(i, dec)| to_tokens(amount, *dec) * prices[*i])
                        };
                        self.tally.liquidated_debt_usd += usd(e.debtAsset, e.debtToCover);
                        self.tally.liquidated_collateral_usd +=
                            usd(e.collateralAsset, e.liquidatedCollateralAmount);
                    }
                    _ => {}
                }
            }
        }
        Ok(receipts)
    }
}

fn to_tokens(amount: U256, decimals: u8) -> f64 {
    let v: f64 = u128::try_from(amount).map_or(f64::MAX, |v| v as f64);
    v / 10f64.powi(i32::from(decimals))
}

fn to_units(tokens: f64, decimals: u8) -> U256 {
    let scaled = tokens * 10f64.powi(i32::from(decimals));
    if scaled.is_finite() && scaled > 0.0 { U256::from(scaled as u128) } else { U256::ZERO }
}

fn base_usd(v: U256) -> f64 {
    to_tokens(v, 8)
}

fn hf(v: U256) -> f64 {
    if v >= U256::from(u128::MAX) { f64::INFINITY } else { to_tokens(v, 18) }
}

// ---------------------------------------------------------------------------------------------
// The simulation

/// The state of one account read from the chain.
#[derive(Debug, Clone, Default)]
struct Position {
    collateral_usd: f64,
    debt_usd: f64,
    /// What Aave still lets the account borrow (LTV bound), USD.
    available_usd: f64,
    /// Weighted liquidation threshold (fraction).
    lt: f64,
    hf: f64,
    /// Per reserve: supplied and borrowed (variable) balances, tokens.
    supplied: Vec<f64>,
    /// Supplied balances in token units (a withdrawal never asks for more).
    supplied_raw: Vec<U256>,
    borrowed: Vec<f64>,
}

struct Sim<'a> {
    node: Node<'a>,
    market: &'a AaveMarket,
    scanner: Address,
    admin: Address,
    liquidator: Address,
    treasury: Address,
    prices: Vec<f64>,
    idx: Idx,
    accounts: Vec<Account>,
    rng: Rng,
    /// Chain time of the start of simulated day 0.
    base_ts: u64,
    bad_debt: (usize, f64),
}

impl Sim<'_> {
    fn reserve(&self, i: usize) -> &ReserveInfo {
        &self.market.reserves[i]
    }

    fn tokens_for_usd(&self, i: usize, usd: f64) -> U256 {
        to_units(usd / self.prices[i], self.reserve(i).decimals)
    }

    async fn mint_to(&mut self, who: Address, i: usize, amount: U256) -> Result<()> {
        let asset = self.reserve(i).asset;
        self.node.call(who, asset, TestERC20::mintCall { to: who, amount }).await
    }

    /// Lets the pool pull `who`'s tokens of the `reserves`.
    async fn approve(&mut self, who: Address, reserves: &[usize]) -> Result<()> {
        let pool = self.market.pool;
        for &i in reserves {
            let asset = self.reserve(i).asset;
            self.node
                .call(who, asset, TestERC20::approveCall { spender: pool, value: U256::MAX })
                .await?;
        }
        Ok(())
    }

    async fn supply(&mut self, who: Address, i: usize, amount: U256) -> Result<()> {
        if amount.is_zero() {
            return Ok(());
        }
        self.mint_to(who, i, amount).await?;
        let asset = self.reserve(i).asset;
        self.node
            .call(
                who,
                self.market.pool,
                IPool::supplyCall { asset, amount, onBehalfOf: who, referralCode: 0 },
            )
            .await
    }

    async fn borrow(&mut self, who: Address, i: usize, amount: U256) -> Result<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let asset = self.reserve(i).asset;
        self.node
            .call(
                who,
                self.market.pool,
                IPool::borrowCall {
                    asset,
                    amount,
                    interestRateMode: U256::from(2),
                    referralCode: 0,
                    onBehalfOf: who,
                },
            )
            .await
    }

    /// Repays `tokens` of reserve `i` (everything with `all`), minting what the wallet needs.
    async fn repay(&mut self, who: Address, i: usize, tokens: f64, all: bool) -> Result<()> {
        let dec = self.reserve(i).decimals;
        self.mint_to(who, i, to_units(tokens * 1.01, dec) + U256::from(1)).await?;
        let amount = if all { U256::MAX } else { to_units(tokens, dec) };
        if amount.is_zero() {
            return Ok(());
        }
        let asset = self.reserve(i).asset;
        self.node
            .call(
                who,
                self.market.pool,
                IPool::repayCall {
                    asset,
                    amount,
                    interestRateMode: U256::from(2),
                    onBehalfOf: who,
                },
            )
            .await
    }

    async fn withdraw(&mut self, who: Address, i: usize, amount: U256) -> Result<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let asset = self.reserve(i).asset;
        self.node.call(who, self.market.pool, IPool::withdrawCall { asset, amount, to: who }).await
    }

    fn scanner(&self) -> AccountScanner::AccountScannerInstance<DynProvider> {
        AccountScanner::new(self.scanner, self.node.provider.clone())
    }

    async fn health_factors(&self, users: &[Address]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(users.len());
        for chunk in users.chunks(SCAN_CHUNK) {
            let hfs = self
                .scanner()
                .healthFactors(self.market.pool, chunk.to_vec())
                .gas(BLOCK_GAS_LIMIT / 10)
                .call()
                .await
                .map_err(|e| Error::Sim(format!("AccountScanner.healthFactors: {e}")))?;
            out.extend(hfs.into_iter().map(hf));
        }
        Ok(out)
    }

    /// Account data and per-reserve balances of `users`.
    async fn positions(&self, users: &[Address]) -> Result<Vec<Position>> {
        let n = self.market.reserves.len();
        let mut tokens: Vec<Address> = self.market.reserves.iter().map(|r| r.a_token).collect();
        tokens.extend(self.market.reserves.iter().map(|r| r.variable_debt_token));
        let mut out = Vec::with_capacity(users.len());
        for chunk in users.chunks(SCAN_CHUNK) {
            let s = self.scanner();
            let data = s
                .accountData(self.market.pool, chunk.to_vec())
                .gas(BLOCK_GAS_LIMIT / 10)
                .call()
                .await
                .map_err(|e| Error::Sim(format!("AccountScanner.accountData: {e}")))?;
            let bal = s
                .balances(tokens.clone(), chunk.to_vec())
                .gas(BLOCK_GAS_LIMIT / 10)
                .call()
                .await
                .map_err(|e| Error::Sim(format!("AccountScanner.balances: {e}")))?;
            for (u, d) in data.iter().enumerate() {
                let row = &bal[u * 2 * n..(u + 1) * 2 * n];
                let dec = |i: usize| self.reserve(i).decimals;
                out.push(Position {
                    collateral_usd: base_usd(d.totalCollateralBase),
                    debt_usd: base_usd(d.totalDebtBase),
                    available_usd: base_usd(d.availableBorrowsBase),
                    lt: to_tokens(d.currentLiquidationThreshold, 4),
                    hf: hf(d.healthFactor),
                    supplied: (0..n).map(|i| to_tokens(row[i], dec(i))).collect(),
                    supplied_raw: row[..n].to_vec(),
                    borrowed: (0..n).map(|i| to_tokens(row[n + i], dec(i))).collect(),
                });
            }
        }
        Ok(out)
    }

    /// Underlying tokens each aToken holds (the reserve's available liquidity): one call for
    /// every asset in every aToken, of which the diagonal is wanted.
    async fn liquidity(&self) -> Result<Vec<f64>> {
        let r = &self.market.reserves;
        let n = r.len();
        let b = self
            .scanner()
            .balances(r.iter().map(|r| r.asset).collect(), r.iter().map(|r| r.a_token).collect())
            .call()
            .await
            .map_err(|e| Error::Sim(format!("AccountScanner.balances: {e}")))?;
        Ok((0..n)
            .map(|i| to_tokens(b.get(i * n + i).copied().unwrap_or_default(), r[i].decimals))
            .collect())
    }

    async fn set_prices(&mut self, prices: Vec<f64>, ts: u64) -> Result<()> {
        for (i, p) in prices.iter().enumerate() {
            let answer = alloy::primitives::I256::try_from((p * 1e8).round() as i128)
                .map_err(|e| Error::Sim(format!("price {p}: {e}")))?;
            let feed = self.reserve(i).aggregator;
            self.node.call(self.admin, feed, PriceFeed::setAnswerCall { answer }).await?;
        }
        self.prices = prices;
        let prices = self.prices.clone();
        self.node.mine(ts, &prices).await?;
        Ok(())
    }

    fn borrowers_with_debt(&self) -> Vec<Address> {
        self.accounts
            .iter()
            .filter(|a| a.joined && a.role == Role::Borrower)
            .map(|a| a.addr)
            .collect()
    }

    /// Liquidates every account below a health factor of 1 that has collateral, repeating up to
    /// [`LIQUIDATION_ROUNDS`] blocks.
    async fn liquidate(&mut self, ts: u64) -> Result<()> {
        let mut candidates = self.borrowers_with_debt();
        let n = self.market.reserves.len();
        for round in 0..LIQUIDATION_ROUNDS {
            if candidates.is_empty() {
                break;
            }
            let hfs = self.health_factors(&candidates).await?;
            let unhealthy: Vec<Address> =
                candidates.iter().zip(&hfs).filter(|(_, h)| **h < 1.0).map(|(a, _)| *a).collect();
            if unhealthy.is_empty() {
                break;
            }
            let positions = self.positions(&unhealthy).await?;
            let mut next = Vec::new();
            for (user, p) in unhealthy.iter().zip(&positions) {
                let value = |v: &[f64], i: usize| v[i] * self.prices[i];
                let coll =
                    (0..n).max_by(|a, b| value(&p.supplied, *a).total_cmp(&value(&p.supplied, *b)));
                let debt =
                    (0..n).max_by(|a, b| value(&p.borrowed, *a).total_cmp(&value(&p.borrowed, *b)));
                let (Some(c), Some(d)) = (coll, debt) else { continue };
                if p.collateral_usd <= 0.0 || value(&p.supplied, c) <= 0.0 || p.borrowed[d] <= 0.0 {
                    continue; // bad debt: nothing to seize
                }
                let dec = self.reserve(d).decimals;
                self.mint_to(
                    self.liquidator,
                    d,
                    to_units(p.borrowed[d] * 1.05, dec) + U256::from(1),
                )
                .await?;
                let call = IPool::liquidationCallCall {
                    collateralAsset: self.reserve(c).asset,
                    debtAsset: self.reserve(d).asset,
                    user: *user,
                    debtToCover: U256::MAX,
                    receiveAToken: false,
                };
                self.node.call(self.liquidator, self.market.pool, call).await?;
                next.push(*user);
            }
            if next.is_empty() {
                break;
            }
            let prices = self.prices.clone();
            self.node.mine(ts + BLOCK_SPACING * (round as u64 + 1), &prices).await?;
            candidates = next;
        }
        Ok(())
    }

    /// One activity round at `ts` on day `day`.
    async fn activity(&mut self, day: u32, activity: f64, ts: u64) -> Result<()> {
        // Who acts: newcomers, and each joined open account with probability `activity` (attentive
        // borrowers are checked separately below).
        let mut joiners = Vec::new();
        let mut actors = Vec::new();
        for (k, a) in self.accounts.iter().enumerate() {
            if a.closed {
                continue;
            }
            if !a.joined {
                if a.join_day <= day {
                    joiners.push(k);
                }
            } else if a.alarm.is_some() || self.rng.chance(activity) {
                actors.push(k);
            }
        }
        let addrs: Vec<Address> = actors.iter().map(|k| self.accounts[*k].addr).collect();
        let positions = self.positions(&addrs).await?;
        let mut liquidity = self.liquidity().await?;
        let n = self.market.reserves.len();

        // Plan every action first, so that liquidity can be topped up before the borrows and
        // withdrawals: `need` is what the round takes out of each reserve.
        let mut plans: Vec<(usize, Plan)> = Vec::new();
        let mut need = vec![0.0; n];
        for k in joiners {
            let a = &self.accounts[k];
            if let Some(d) = a.debt {
                need[d] += self.join_debt_usd(a) / self.prices[d];
            }
            plans.push((k, Plan::Join));
        }
        for (k, p) in actors.iter().zip(&positions) {
            let a = self.accounts[*k].clone();
            let Some(plan) = self.plan(&a, p, activity) else { continue };
            match plan {
                Plan::Borrow { reserve, tokens } | Plan::Withdraw { reserve, tokens, .. } => {
                    need[reserve] += tokens;
                }
                Plan::Close { .. } => {
                    for (i, _) in &a.supplies {
                        need[*i] += p.supplied[*i];
                    }
                }
                _ => {}
            }
            plans.push((*k, plan));
        }
        let mut topped = false;
        for i in 0..n {
            if need[i] > 0.0 && need[i] > liquidity[i] * 0.9 {
                let add = (need[i] - liquidity[i] * 0.9) * 1.5 + 1.0;
                let amount = to_units(add, self.reserve(i).decimals);
                let treasury = self.treasury;
                self.supply(treasury, i, amount).await?;
                liquidity[i] += add;
                topped = true;
            }
        }
        if topped {
            let prices = self.prices.clone();
            self.node.mine(ts, &prices).await?;
        }
        for (k, plan) in plans {
            self.execute(k, plan).await?;
        }
        let prices = self.prices.clone();
        self.node.mine(ts + BLOCK_SPACING, &prices).await?;
        Ok(())
    }

    fn join_debt_usd(&self, a: &Account) -> f64 {
        let Some(d) = a.debt else { return 0.0 };
        let (mut lt, mut ltv) = (0.0, 0.0);
        for (i, share) in &a.supplies {
            let r = self.reserve(*i);
            lt += share * f64::from(r.liquidation_threshold) / 1e4;
            ltv += share * f64::from(r.ltv) / 1e4;
        }
        let _ = d;
        let hf = a.target_hf.max(lt / ltv * 1.005);
        a.size * lt / hf
    }

    fn plan(&mut self, a: &Account, p: &Position, activity: f64) -> Option<Plan> {
        let rng = &mut self.rng;
        match a.role {
            Role::Lender => {
                let (i, _) = a.supplies[0];
                match rng.pick(&[0.55, 0.40, 0.05]) {
                    0 => Some(Plan::Supply { reserve: i, usd: a.size * rng.range(0.1, 0.4) }),
                    1 => {
                        let frac = rng.range(0.1, 0.6);
                        Some(Plan::Withdraw {
                            reserve: i,
                            tokens: p.supplied[i] * frac,
                            cap: p.supplied_raw[i],
                        })
                    }
                    _ => Some(Plan::Close { debt_tokens: 0.0, held: held(p) }),
                }
            }
            Role::Borrower => {
                let debt = a.debt?;
                if p.collateral_usd <= 0.0 {
                    return None; // liquidated down to nothing
                }
                // Attentive borrowers under their alarm defend (with probability 0.7).
                if let Some(alarm) = a.alarm {
                    if p.debt_usd > 0.0 && p.hf < alarm {
                        if !rng.chance(0.7) {
                            return None;
                        }
                        let target_debt = p.collateral_usd * p.lt / a.target_hf;
                        return if rng.chance(0.6) {
                            let usd = (p.debt_usd - target_debt).max(0.0);
                            Some(Plan::Repay {
                                reserve: debt,
                                tokens: usd / self.prices[debt],
                                all: false,
                            })
                        } else {
                            // collateral needed: (target * debt / lt) - collateral
                            let (i, _) = a.supplies[0];
                            let lt_i =
                                f64::from(self.market.reserves[i].liquidation_threshold) / 1e4;
                            let usd = (a.target_hf * p.debt_usd - p.collateral_usd * p.lt) / lt_i;
                            Some(Plan::Supply { reserve: i, usd: usd.max(0.0) })
                        };
                    }
                    // Otherwise attentive accounts act only with the ordinary probability.
                    if !rng.chance(activity) {
                        return None;
                    }
                }
                let prices = &self.prices;
                let r = &self.market.reserves;
                match rng.pick(&[0.33, 0.22, 0.22, 0.20, 0.03]) {
                    0 => {
                        let max_hf = a.target_hf.max(p.lt / (ltv_of(a, r)).max(1e-9) * 1.005);
                        if p.debt_usd > 0.0 && p.hf < max_hf * 1.15 {
                            return None;
                        }
                        let target_debt = p.collateral_usd * p.lt / max_hf;
                        // Aave's LTV bound, with a margin for the interest accrued until the block.
                        let usd = (target_debt - p.debt_usd).min(p.available_usd * 0.99);
                        (usd > 1.0)
                            .then(|| Plan::Borrow { reserve: debt, tokens: usd / prices[debt] })
                    }
                    1 => {
                        let frac = rng.range(0.1, 0.5);
                        (p.borrowed[debt] > 0.0).then(|| Plan::Repay {
                            reserve: debt,
                            tokens: p.borrowed[debt] * frac,
                            all: false,
                        })
                    }
                    2 => {
                        let (i, _) = a.supplies[0];
                        Some(Plan::Supply { reserve: i, usd: a.size * rng.range(0.1, 0.4) })
                    }
                    3 => {
                        let (i, _) = a.supplies[0];
                        if p.debt_usd > 0.0 && p.hf < a.target_hf * 1.15 {
                            return None;
                        }
                        let lt_i = f64::from(r[i].liquidation_threshold) / 1e4;
                        let spare = if p.debt_usd > 0.0 {
                            (p.collateral_usd * p.lt - a.target_hf * 1.05 * p.debt_usd) / lt_i
                        } else {
                            p.supplied[i] * prices[i] * 0.5
                        };
                        let usd = (spare * 0.9).min(p.supplied[i] * prices[i] * 0.9);
                        (usd > 1.0).then(|| Plan::Withdraw {
                            reserve: i,
                            tokens: usd / prices[i],
                            cap: p.supplied_raw[i],
                        })
                    }
                    _ => Some(Plan::Close { debt_tokens: p.borrowed[debt], held: held(p) }),
                }
            }
        }
    }

    async fn execute(&mut self, k: usize, plan: Plan) -> Result<()> {
        let a = self.accounts[k].clone();
        match plan {
            Plan::Join => {
                self.node
                    .raw("anvil_setBalance", serde_json::json!([a.addr, hex_u(10u128.pow(21))]))
                    .await?;
                let used: Vec<usize> = a.supplies.iter().map(|(i, _)| *i).chain(a.debt).collect();
                self.approve(a.addr, &used).await?;
                for (i, share) in &a.supplies {
                    let amount = self.tokens_for_usd(*i, a.size * share);
                    self.supply(a.addr, *i, amount).await?;
                }
                if let Some(d) = a.debt {
                    let usd = self.join_debt_usd(&a);
                    let amount = self.tokens_for_usd(d, usd);
                    self.borrow(a.addr, d, amount).await?;
                }
                self.accounts[k].joined = true;
            }
            Plan::Supply { reserve, usd } => {
                let amount = self.tokens_for_usd(reserve, usd);
                self.supply(a.addr, reserve, amount).await?;
            }
            Plan::Withdraw { reserve, tokens, cap } => {
                // f64 rounding must not ask for a unit more than the balance read.
                let amount = to_units(tokens, self.reserve(reserve).decimals).min(cap);
                self.withdraw(a.addr, reserve, amount).await?;
            }
            Plan::Borrow { reserve, tokens } => {
                let amount = to_units(tokens, self.reserve(reserve).decimals);
                self.borrow(a.addr, reserve, amount).await?;
            }
            Plan::Repay { reserve, tokens, all } => {
                if tokens > 0.0 {
                    self.repay(a.addr, reserve, tokens, all).await?;
                }
            }
            Plan::Close { debt_tokens, held } => {
                if let Some(d) = a.debt
                    && debt_tokens > 0.0
                {
                    self.repay(a.addr, d, debt_tokens, true).await?;
                }
                // Aave rejects a withdrawal of nothing (a collateral a liquidation took).
                for (i, _) in &a.supplies {
                    if held & (1 << i) != 0 {
                        self.withdraw(a.addr, *i, U256::MAX).await?;
                    }
                }
                self.accounts[k].closed = true;
            }
        }
        Ok(())
    }
}

/// The bit set of reserves in which the position has a supplied balance.
fn held(p: &Position) -> u64 {
    p.supplied_raw.iter().enumerate().filter(|(_, b)| !b.is_zero()).fold(0, |m, (i, _)| m | 1 << i)
}

fn ltv_of(a: &Account, r: &[ReserveInfo]) -> f64 {
    a.supplies.iter().map(|(i, s)| s * f64::from(r[*i].ltv) / 1e4).sum()
}

#[derive(Debug, Clone, Copy)]
enum Plan {
    Join,
    Supply {
        reserve: usize,
        usd: f64,
    },
    Withdraw {
        reserve: usize,
        tokens: f64,
        cap: U256,
    },
    Borrow {
        reserve: usize,
        tokens: f64,
    },
    Repay {
        reserve: usize,
        tokens: f64,
        all: bool,
    },
    /// Repay everything, withdraw every reserve in the `held` bit set.
    Close {
        debt_tokens: f64,
        held: u64,
    },
}

fn find(market: &AaveMarket, symbol: &str) -> Result<usize> {
    market
        .reserves
        .iter()
        .position(|r| r.symbol.eq_ignore_ascii_case(symbol))
        .ok_or_else(|| Error::Sim(format!("the market lists no {symbol} reserve")))
}

/// One point of a candle path: `(offset in the day, price)` per reserve.
fn day_points(candles: &[(f64, f64, f64, f64)]) -> [Vec<f64>; 4] {
    let mut pts: [Vec<f64>; 4] = Default::default();
    for &(o, h, l, c) in candles {
        let (first, second) = if c >= o { (l, h) } else { (h, l) };
        for (k, v) in [o, first, second, c].into_iter().enumerate() {
            pts[k].push(v);
        }
    }
    pts
}

/// Runs the simulation on the anvil node behind `provider` (see the module docs).
///
/// `foundry_out` is the Foundry build (`contracts/out`, for `AccountScanner`); `progress` is
/// called after every simulated day.
///
/// # Errors
/// [`Error::Sim`] for a bad configuration, a market without one of the six reserves, prices that
/// do not cover the window, or a node that does not mine what it was sent; [`Error::Rpc`] when the
/// node fails (or is not anvil); [`Error::Artifact`] when the scanner is not built.
pub async fn simulate(
    provider: &DynProvider,
    market: &AaveMarket,
    prices: &PricePaths,
    foundry_out: &Path,
    config: &SimConfig,
    mut progress: impl FnMut(&DayProgress),
) -> Result<SimReport> {
    let started = Instant::now();
    let first_day = config.check()?;
    let idx = Idx {
        weth: find(market, "WETH")?,
        wbtc: find(market, "WBTC")?,
        wsteth: find(market, "wstETH")?,
        usdc: find(market, "USDC")?,
        usdt: find(market, "USDT")?,
        dai: find(market, "DAI")?,
    };
    // Candles of every reserve for every day of the window.
    let mut candles: Vec<Vec<(f64, f64, f64, f64)>> = Vec::new();
    for d in 0..i64::from(config.days) {
        let day = first_day + d;
        let mut row = Vec::new();
        for r in &market.reserves {
            let series = prices
                .get(&r.symbol)
                .ok_or_else(|| Error::Sim(format!("no price series for {}", r.symbol)))?;
            row.push(series.candle(day).ok_or_else(|| {
                Error::Sim(format!("the {} prices do not cover {}", r.symbol, ymd(day)))
            })?);
        }
        candles.push(row);
    }

    let scanner_code =
        chain::foundry_bytecode(foundry_out, "AccountScanner.sol", "AccountScanner")?;
    let assets =
        market.reserves.iter().enumerate().map(|(i, r)| (r.asset, (i, r.decimals))).collect();
    let node = Node {
        provider,
        nonces: HashMap::new(),
        queued: 0,
        last_ts: 0,
        tally: Tally::default(),
        pool: market.pool,
        assets,
    };
    let gas_limit = provider
        .get_block(alloy::eips::BlockId::latest())
        .await
        .map_err(rpc("eth_getBlockByNumber"))?
        .ok_or_else(|| Error::Sim("the node has no latest block".into()))?
        .header
        .gas_limit;
    node.raw("anvil_autoImpersonateAccount", serde_json::json!([true])).await?;
    node.raw("evm_setBlockGasLimit", serde_json::json!([hex_u(BLOCK_GAS_LIMIT)])).await?;
    node.raw("evm_setAutomine", serde_json::json!([false])).await?;
    let result =
        run(node, market, config, first_day, idx, &candles, scanner_code, &mut progress, started)
            .await;
    // Leave the node as it was found (automine on, no impersonation, its gas limit), even after
    // an error.
    for (method, param) in [
        ("evm_setAutomine", serde_json::json!(true)),
        ("anvil_autoImpersonateAccount", serde_json::json!(false)),
        ("evm_setBlockGasLimit", serde_json::json!(hex_u(gas_limit))),
    ] {
        let _ = provider.raw_request::<_, serde_json::Value>(method.into(), (param,)).await;
    }
    result
}

/// [`simulate`] on the node at `url` (HTTP JSON-RPC), with a provider of its own.
///
/// # Errors
/// As [`simulate`]; [`Error::Rpc`] for a URL that does not parse.
pub async fn simulate_url(
    url: &str,
    market: &AaveMarket,
    prices: &PricePaths,
    foundry_out: &Path,
    config: &SimConfig,
    progress: impl FnMut(&DayProgress),
) -> Result<SimReport> {
    let url = url.parse().map_err(|e| Error::Rpc(format!("invalid RPC URL {url}: {e}")))?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(url).erased();
    simulate(&provider, market, prices, foundry_out, config, progress).await
}

#[allow(clippy::too_many_arguments)]
async fn run(
    mut node: Node<'_>,
    market: &AaveMarket,
    config: &SimConfig,
    first_day: i64,
    idx: Idx,
    candles: &[Vec<(f64, f64, f64, f64)>],
    scanner_code: Vec<u8>,
    progress: &mut impl FnMut(&DayProgress),
    started: Instant,
) -> Result<SimReport> {
    let latest = node
        .provider
        .get_block(alloy::eips::BlockId::latest())
        .await
        .map_err(rpc("eth_getBlockByNumber"))?
        .ok_or_else(|| Error::Sim("the node has no latest block".into()))?;
    let historical =
        u64::try_from(first_day * 86_400).map_err(|_| Error::Sim("start before 1970".into()))?;
    let base_ts = historical.max(latest.header.timestamp + 3_600);
    node.last_ts = latest.header.timestamp;

    let admin = market.admin;
    let liquidator = account_address(config.seed, u64::MAX);
    let treasury = account_address(config.seed, u64::MAX - 1);
    for who in [admin, liquidator, treasury] {
        node.raw("anvil_setBalance", serde_json::json!([who, hex_u(10u128.pow(24))])).await?;
    }
    // Setup block: the scanner, the liquidator's and the treasury's approvals, seed liquidity.
    node.send(admin, None, scanner_code).await?;
    let day0: Vec<f64> = candles[0].iter().map(|c| c.0).collect();
    let receipts = node.mine(base_ts - 1_800, &day0).await?;
    let scanner = receipts
        .first()
        .and_then(|r| r.contract_address)
        .ok_or_else(|| Error::Sim("AccountScanner deployment has no address".into()))?;

    let mut sim = Sim {
        node,
        market,
        scanner,
        admin,
        liquidator,
        treasury,
        prices: day0.clone(),
        idx,
        accounts: population(config, idx),
        rng: Rng::new(config.seed ^ 0x6163_7469_7669_7479),
        base_ts,
        bad_debt: (0, 0.0),
    };
    let all: Vec<usize> = (0..market.reserves.len()).collect();
    sim.approve(liquidator, &all).await?;
    sim.approve(treasury, &all).await?;
    for (i, usd) in
        [(idx.usdc, 2.5e5), (idx.usdt, 2.5e5), (idx.dai, 2.5e5), (idx.weth, 100.0 * day0[idx.weth])]
    {
        let amount = sim.tokens_for_usd(i, usd);
        sim.supply(treasury, i, amount).await?;
    }
    sim.node.mine(base_ts - 1_200, &day0).await?;

    for d in 0..config.days {
        let day_ts = sim.base_ts + u64::from(d) * 86_400;
        let points = day_points(&candles[d as usize]);
        for (k, pts) in points.into_iter().enumerate() {
            let ts = day_ts + POINT_OFFSETS[k];
            sim.set_prices(pts, ts).await?;
            sim.liquidate(ts).await?;
            if (k as u32) < config.steps_per_day {
                sim.activity(d, config.activity, ts + 3_600).await?;
            }
        }
        let t = &sim.node.tally;
        progress(&DayProgress {
            day: d,
            date: ymd(first_day + i64::from(d)),
            eth_usd: sim.prices[sim.idx.weth],
            liquidations: t.liquidations,
            txs: t.txs,
            block: t.last_block,
        });
    }

    // Bad debt at the end: accounts with debt and no collateral.
    let borrowers = sim.borrowers_with_debt();
    let positions = sim.positions(&borrowers).await?;
    for p in &positions {
        if p.debt_usd > 0.0 && p.collateral_usd <= 0.0 {
            sim.bad_debt.0 += 1;
            sim.bad_debt.1 += p.debt_usd;
        }
    }
    let t = sim.node.tally.clone();
    let seconds = started.elapsed().as_secs_f64();
    let account_list: Vec<Address> =
        sim.accounts.iter().filter(|a| a.joined).map(|a| a.addr).collect();
    Ok(SimReport {
        seed: config.seed,
        start: config.start.clone(),
        end: ymd(first_day + i64::from(config.days) - 1),
        days: config.days,
        accounts: account_list.len(),
        txs: t.txs,
        failed_txs: t.failed,
        supplies: t.supplies,
        borrows: t.borrows,
        repays: t.repays,
        withdrawals: t.withdrawals,
        liquidations: t.liquidations,
        liquidated_accounts: t.liquidated.len(),
        liquidated_debt_usd: t.liquidated_debt_usd,
        liquidated_collateral_usd: t.liquidated_collateral_usd,
        bad_debt_accounts: sim.bad_debt.0,
        bad_debt_usd: sim.bad_debt.1,
        first_block: t.first_block.unwrap_or_default(),
        last_block: t.last_block,
        seconds,
        tx_per_second: t.txs as f64 / seconds.max(1e-9),
        time_shift: sim.base_ts - historical,
        liquidator,
        treasury,
        scanner,
        account_list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_seeded_and_uniform() {
        let (mut a, mut b, mut c) = (Rng::new(7), Rng::new(7), Rng::new(8));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..5).map(|_| c.next_u64()).collect::<Vec<_>>());
        let mean = (0..10_000).map(|_| a.f64()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let normals: Vec<f64> = (0..10_000).map(|_| a.normal()).collect();
        let m = normals.iter().sum::<f64>() / 1e4;
        let v = normals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 1e4;
        assert!(m.abs() < 0.05 && (v - 1.0).abs() < 0.05, "{m} {v}");
    }

    #[test]
    fn candle_paths_visit_the_extreme_first_that_the_close_implies() {
        let pts = day_points(&[(100.0, 110.0, 80.0, 90.0), (100.0, 120.0, 95.0, 115.0)]);
        assert_eq!(pts[0], vec![100.0, 100.0]);
        assert_eq!(pts[1], vec![110.0, 95.0]);
        assert_eq!(pts[2], vec![80.0, 120.0]);
        assert_eq!(pts[3], vec![90.0, 115.0]);
    }

    #[test]
    fn units_round_trip() {
        assert_eq!(to_units(1.5, 6), U256::from(1_500_000));
        assert_eq!(to_tokens(U256::from(1_500_000), 6), 1.5);
        assert_eq!(to_units(-1.0, 18), U256::ZERO);
        assert_eq!(hf(U256::MAX), f64::INFINITY);
    }

    #[test]
    fn config_is_checked() {
        assert!(SimConfig::default().check().is_ok());
        let bad = [
            SimConfig { start: "2022-13-01".into(), ..SimConfig::default() },
            SimConfig { accounts: 0, ..SimConfig::default() },
            SimConfig { days: 0, ..SimConfig::default() },
            SimConfig { steps_per_day: 4, ..SimConfig::default() },
            SimConfig { activity: 1.5, ..SimConfig::default() },
        ];
        for c in bad {
            assert!(matches!(c.check(), Err(Error::Sim(_))), "{c:?}");
        }
    }

    #[test]
    fn addresses_depend_on_seed_and_index() {
        assert_eq!(account_address(1, 0), account_address(1, 0));
        assert_ne!(account_address(1, 0), account_address(2, 0));
        assert_ne!(account_address(1, 0), account_address(1, 1));
    }
}
