//! Accounts rebuilt from events alone: scaled aToken and variable-debt balances, collateral
//! flags, reserve indices and prices, and from them each account's collateral, debt and health
//! factor at any block, computed with Aave v3.0's own integer arithmetic.
//!
//! How each event moves the state (Aave v3.0, `SupplyLogic`, `BorrowLogic`, `LiquidationLogic`):
//! every action first updates its reserve and emits `ReserveDataUpdated` with the new indices, so
//! the latest such event of a reserve holds the index the action used.
//!
//! | event | effect |
//! |---|---|
//! | `Supply` | `scaled_a[onBehalfOf] += rayDiv(amount, liquidityIndex)` |
//! | `Withdraw` | `scaled_a[user] -= rayDiv(amount, liquidityIndex)` |
//! | `Borrow` (variable) | `scaled_debt[onBehalfOf] += rayDiv(amount, variableBorrowIndex)`, borrowing on |
//! | `Repay` | `scaled_debt[user] -= rayDiv(amount, variableBorrowIndex)`; borrowing off when the debt was repaid in full; with aTokens also `scaled_a[repayer] -= rayDiv(amount, liquidityIndex)` |
//! | `LiquidationCall` | debt as `Repay`; unless aTokens were taken, `scaled_a[user] -= rayDiv(liquidatedCollateralAmount, liquidityIndex)` |
//! | `BalanceTransfer` (aToken) | moves `value` (already scaled) from `from` to `to` (covers aToken transfers, liquidations paid in aTokens and the liquidation protocol fee) |
//! | `ReserveUsedAsCollateral{Enabled,Disabled}` | the account's collateral flag |
//! | `CollateralConfigurationChanged` | the reserve's LTV and liquidation threshold |
//! | `AssetSourceUpdated`, `AnswerUpdated` | the asset's price source and the source's latest answer |
//!
//! At a block with timestamp `t`, balances are `rayMul(scaled, index · growth(t))` with linear
//! growth for supply and Aave's three-term compounded growth for debt, and the account data is
//! `GenericLogic.calculateUserAccountData` term for term, so the result equals
//! `Pool.getUserAccountData` exactly (not approximately) when the inputs are complete.
//!
//! Not covered (an error says so where it matters): stable-rate debt, e-mode, price sources that
//! do not emit `AnswerUpdated` themselves (proxies, adapters), and Aave's fallback oracle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ruint::aliases::U256;

use super::{
    events::{AaveEvent, Record},
    store::Checkpoint,
};
use crate::error::{Error, Result};

/// 1e27.
pub const RAY: U256 = U256::from_limbs([0x9fd0_803c_e800_0000, 0x033b_2e3c, 0, 0]);
/// 1e18.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
const SECONDS_PER_YEAR: u64 = 365 * 86_400;

fn overflow(what: &str) -> Error {
    Error::Rebuild(format!("arithmetic overflow in {what}"))
}

/// `a * b / RAY`, rounded half up (Aave's `WadRayMath.rayMul`).
pub fn ray_mul(a: U256, b: U256) -> Result<U256> {
    let half = RAY >> 1;
    a.checked_mul(b)
        .and_then(|p| p.checked_add(half))
        .map(|p| p / RAY)
        .ok_or_else(|| overflow("rayMul"))
}

/// `a * RAY / b`, rounded half up (Aave's `WadRayMath.rayDiv`).
pub fn ray_div(a: U256, b: U256) -> Result<U256> {
    if b.is_zero() {
        return Err(Error::Rebuild("rayDiv by zero (a reserve index is 0)".into()));
    }
    a.checked_mul(RAY)
        .and_then(|p| p.checked_add(b >> 1))
        .map(|p| p / b)
        .ok_or_else(|| overflow("rayDiv"))
}

/// `a * WAD / b`, rounded half up (Aave's `WadRayMath.wadDiv`).
pub fn wad_div(a: U256, b: U256) -> Result<U256> {
    if b.is_zero() {
        return Err(Error::Rebuild("wadDiv by zero".into()));
    }
    a.checked_mul(WAD)
        .and_then(|p| p.checked_add(b >> 1))
        .map(|p| p / b)
        .ok_or_else(|| overflow("wadDiv"))
}

/// `value * bps / 10000`, rounded half up (Aave's `PercentageMath.percentMul`).
pub fn percent_mul(value: U256, bps: U256) -> Result<U256> {
    value
        .checked_mul(bps)
        .and_then(|p| p.checked_add(U256::from(5_000u64)))
        .map(|p| p / U256::from(10_000u64))
        .ok_or_else(|| overflow("percentMul"))
}

/// Aave's `MathUtils.calculateLinearInterest`: `RAY + rate * dt / year`.
pub fn linear_interest(rate: U256, dt: u64) -> Result<U256> {
    let r = rate.checked_mul(U256::from(dt)).ok_or_else(|| overflow("linear interest"))?;
    Ok(RAY + r / U256::from(SECONDS_PER_YEAR))
}

/// Aave's `MathUtils.calculateCompoundedInterest` (binomial expansion to the third term).
pub fn compounded_interest(rate: U256, dt: u64) -> Result<U256> {
    if dt == 0 {
        return Ok(RAY);
    }
    let year = U256::from(SECONDS_PER_YEAR);
    let exp = U256::from(dt);
    let exp_minus_one = U256::from(dt - 1);
    let exp_minus_two = U256::from(dt.saturating_sub(2));
    let base_power_two = ray_mul(rate, rate)? / (year * year);
    let base_power_three = ray_mul(base_power_two, rate)? / year;
    let err = || overflow("compounded interest");
    let second = exp
        .checked_mul(exp_minus_one)
        .and_then(|x| x.checked_mul(base_power_two))
        .ok_or_else(err)?
        / U256::from(2u8);
    let third = exp
        .checked_mul(exp_minus_one)
        .and_then(|x| x.checked_mul(exp_minus_two))
        .and_then(|x| x.checked_mul(base_power_three))
        .ok_or_else(err)?
        / U256::from(6u8);
    let first = rate.checked_mul(exp).ok_or_else(err)? / year;
    Ok(RAY + first + second + third)
}

/// A reserve as the events describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReserveState {
    /// Token decimals (from the dataset's reserve metadata).
    pub decimals: Option<u8>,
    /// aToken address (lowercase hex).
    pub a_token: String,
    /// Liquidity index (ray) at `last_update`.
    pub liquidity_index: U256,
    /// Variable borrow index (ray) at `last_update`.
    pub variable_borrow_index: U256,
    /// Supply rate (ray) since `last_update`.
    pub liquidity_rate: U256,
    /// Variable borrow rate (ray) since `last_update`.
    pub variable_borrow_rate: U256,
    /// Timestamp of the last index update.
    pub last_update: u64,
    /// LTV (bps).
    pub ltv: U256,
    /// Liquidation threshold (bps).
    pub liquidation_threshold: U256,
}

impl ReserveState {
    /// Aave's `getNormalizedIncome` at time `t`.
    pub fn normalized_income(&self, t: u64) -> Result<U256> {
        if t <= self.last_update {
            return Ok(self.liquidity_index);
        }
        ray_mul(linear_interest(self.liquidity_rate, t - self.last_update)?, self.liquidity_index)
    }

    /// Aave's `getNormalizedDebt` at time `t`.
    pub fn normalized_debt(&self, t: u64) -> Result<U256> {
        if t <= self.last_update {
            return Ok(self.variable_borrow_index);
        }
        ray_mul(
            compounded_interest(self.variable_borrow_rate, t - self.last_update)?,
            self.variable_borrow_index,
        )
    }
}

/// One account's position in one reserve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserReserve {
    /// Scaled aToken balance.
    pub scaled_a: U256,
    /// Scaled variable-debt balance.
    pub scaled_debt: U256,
    /// The account uses this reserve as collateral.
    pub collateral: bool,
    /// The account borrows this reserve (Aave clears the flag when the debt is repaid in full).
    pub borrowing: bool,
}

/// What `Pool.getUserAccountData` returns, all in the oracle's base currency (USD, 8 decimals)
/// except the last three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountData {
    /// Collateral value.
    pub total_collateral_base: U256,
    /// Debt value.
    pub total_debt_base: U256,
    /// What the account may still borrow.
    pub available_borrows_base: U256,
    /// Collateral-weighted liquidation threshold (bps).
    pub current_liquidation_threshold: U256,
    /// Collateral-weighted LTV (bps).
    pub ltv: U256,
    /// Health factor (wad); `U256::MAX` without debt.
    pub health_factor: U256,
}

impl AccountData {
    /// The health factor as a float (`f64::INFINITY` without debt).
    pub fn health_factor_f64(&self) -> f64 {
        if self.health_factor == U256::MAX {
            return f64::INFINITY;
        }
        f64::from(self.health_factor) / 1e18
    }
}

/// A base-currency amount (USD with 8 decimals) as a float.
pub fn base_to_f64(v: U256) -> f64 {
    f64::from(v) / 1e8
}

/// The market rebuilt from events up to some block.
#[derive(Clone, Debug, Default)]
pub struct MarketState {
    /// Reserves by asset.
    pub reserves: BTreeMap<String, ReserveState>,
    /// Accounts: account → asset → position.
    pub users: BTreeMap<String, BTreeMap<String, UserReserve>>,
    decimals: HashMap<String, u8>,
    a_tokens: HashMap<String, String>,
    sources: HashMap<String, String>,
    answers: HashMap<String, String>,
    /// Aggregator → the proxy (the oracle's source) it answers for.
    answers_for: HashMap<String, String>,
    e_mode: BTreeSet<String>,
    /// Last block applied.
    pub block: u64,
}

fn sub(a: U256, b: U256, what: &str, r: &Record) -> Result<U256> {
    a.checked_sub(b).ok_or_else(|| {
        Error::Rebuild(format!(
            "{what} below zero at block {} log {} (tx {}): the dataset is incomplete",
            r.meta.block_number, r.meta.log_index, r.meta.tx_hash
        ))
    })
}

impl MarketState {
    /// An empty market with the token metadata and price-source wiring of a dataset.
    pub fn new(checkpoint: &Checkpoint) -> Self {
        Self {
            decimals: checkpoint.reserves.iter().map(|r| (r.asset.clone(), r.decimals)).collect(),
            answers_for: checkpoint
                .contracts
                .iter()
                .filter_map(|c| Some((c.address.clone(), c.answers_for.clone()?)))
                .collect(),
            ..Self::default()
        }
    }

    fn reserve(&self, asset: &str, r: &Record) -> Result<&ReserveState> {
        self.reserves.get(asset).ok_or_else(|| {
            Error::Rebuild(format!(
                "event at block {} log {} uses reserve {asset}, which was never initialised in the \
                 dataset (ingest from the market's deployment block)",
                r.meta.block_number, r.meta.log_index
            ))
        })
    }

    fn position(&mut self, user: &str, asset: &str) -> &mut UserReserve {
        self.users.entry(user.to_string()).or_default().entry(asset.to_string()).or_default()
    }

    /// Applies one event. Events must come in chain order.
    pub fn apply(&mut self, r: &Record) -> Result<()> {
        self.block = r.meta.block_number;
        match &r.event {
            AaveEvent::ReserveInitialized { asset, a_token, .. } => {
                self.a_tokens.insert(a_token.clone(), asset.clone());
                self.reserves.insert(
                    asset.clone(),
                    ReserveState {
                        decimals: self.decimals.get(asset).copied(),
                        a_token: a_token.clone(),
                        liquidity_index: RAY,
                        variable_borrow_index: RAY,
                        liquidity_rate: U256::ZERO,
                        variable_borrow_rate: U256::ZERO,
                        last_update: r.meta.block_timestamp,
                        ltv: U256::ZERO,
                        liquidation_threshold: U256::ZERO,
                    },
                );
            }
            AaveEvent::ReserveDataUpdated {
                reserve,
                liquidity_rate,
                variable_borrow_rate,
                liquidity_index,
                variable_borrow_index,
                ..
            } => {
                self.reserve(reserve, r)?;
                if let Some(s) = self.reserves.get_mut(reserve) {
                    s.liquidity_rate = *liquidity_rate;
                    s.variable_borrow_rate = *variable_borrow_rate;
                    s.liquidity_index = *liquidity_index;
                    s.variable_borrow_index = *variable_borrow_index;
                    s.last_update = r.meta.block_timestamp;
                }
            }
            AaveEvent::CollateralConfigurationChanged {
                asset, ltv, liquidation_threshold, ..
            } => {
                self.reserve(asset, r)?;
                if let Some(s) = self.reserves.get_mut(asset) {
                    s.ltv = *ltv;
                    s.liquidation_threshold = *liquidation_threshold;
                }
            }
            AaveEvent::AssetSourceUpdated { asset, source } => {
                self.sources.insert(asset.clone(), source.clone());
            }
            AaveEvent::AnswerUpdated { current, .. } => {
                let source = self.answers_for.get(&r.meta.contract).unwrap_or(&r.meta.contract);
                self.answers.insert(source.clone(), current.clone());
            }
            AaveEvent::Supply { reserve, on_behalf_of, amount, .. } => {
                let scaled = ray_div(*amount, self.reserve(reserve, r)?.liquidity_index)?;
                let p = self.position(on_behalf_of, reserve);
                p.scaled_a = p.scaled_a.checked_add(scaled).ok_or_else(|| overflow("supply"))?;
            }
            AaveEvent::Withdraw { reserve, user, amount, .. } => {
                let scaled = ray_div(*amount, self.reserve(reserve, r)?.liquidity_index)?;
                let p = self.position(user, reserve);
                p.scaled_a = sub(p.scaled_a, scaled, "aToken balance", r)?;
            }
            AaveEvent::Borrow { reserve, on_behalf_of, amount, interest_rate_mode, .. } => {
                if *interest_rate_mode != 2 {
                    return Err(Error::Rebuild(format!(
                        "stable-rate borrow at block {} (tx {}) is not supported",
                        r.meta.block_number, r.meta.tx_hash
                    )));
                }
                let scaled = ray_div(*amount, self.reserve(reserve, r)?.variable_borrow_index)?;
                let p = self.position(on_behalf_of, reserve);
                p.scaled_debt =
                    p.scaled_debt.checked_add(scaled).ok_or_else(|| overflow("borrow"))?;
                p.borrowing = true;
            }
            AaveEvent::Repay { reserve, user, repayer, amount, use_a_tokens } => {
                let s = self.reserve(reserve, r)?;
                let (debt_index, liquidity_index) = (s.variable_borrow_index, s.liquidity_index);
                self.repay_debt(user, reserve, *amount, debt_index, r)?;
                if *use_a_tokens {
                    let scaled = ray_div(*amount, liquidity_index)?;
                    let p = self.position(repayer, reserve);
                    p.scaled_a = sub(p.scaled_a, scaled, "aToken balance", r)?;
                }
            }
            AaveEvent::LiquidationCall {
                collateral_asset,
                debt_asset,
                user,
                debt_to_cover,
                liquidated_collateral_amount,
                receive_a_token,
                ..
            } => {
                let debt_index = self.reserve(debt_asset, r)?.variable_borrow_index;
                self.repay_debt(user, debt_asset, *debt_to_cover, debt_index, r)?;
                if !*receive_a_token {
                    let index = self.reserve(collateral_asset, r)?.liquidity_index;
                    let scaled = ray_div(*liquidated_collateral_amount, index)?;
                    let p = self.position(user, collateral_asset);
                    p.scaled_a = sub(p.scaled_a, scaled, "aToken balance", r)?;
                }
            }
            AaveEvent::BalanceTransfer { from, to, value, .. } => {
                let Some(asset) = self.a_tokens.get(&r.meta.contract).cloned() else {
                    return Err(Error::Rebuild(format!(
                        "BalanceTransfer from unknown aToken {} at block {}",
                        r.meta.contract, r.meta.block_number
                    )));
                };
                let p = self.position(from, &asset);
                p.scaled_a = sub(p.scaled_a, *value, "aToken balance", r)?;
                let p = self.position(to, &asset);
                p.scaled_a = p.scaled_a.checked_add(*value).ok_or_else(|| overflow("transfer"))?;
            }
            AaveEvent::ReserveUsedAsCollateral { reserve, user, enabled } => {
                self.position(user, reserve).collateral = *enabled;
            }
            AaveEvent::UserEModeSet { user, category_id } => {
                if *category_id == 0 {
                    self.e_mode.remove(user);
                } else {
                    self.e_mode.insert(user.clone());
                }
            }
        }
        Ok(())
    }

    fn repay_debt(
        &mut self,
        user: &str,
        asset: &str,
        amount: U256,
        index: U256,
        r: &Record,
    ) -> Result<()> {
        let p = self.position(user, asset);
        // Aave clears the borrowing flag when the repaid amount equals the debt before burning;
        // the burn itself can leave a scaled remainder of rounding dust.
        if ray_mul(p.scaled_debt, index)? <= amount {
            p.borrowing = false;
        }
        let scaled = ray_div(amount, index)?;
        p.scaled_debt = sub(p.scaled_debt, scaled, "variable debt", r)?;
        Ok(())
    }

    /// The price (base currency, 8 decimals) of `asset`, as `AaveOracle.getAssetPrice`.
    pub fn price(&self, asset: &str) -> Result<U256> {
        let source = self
            .sources
            .get(asset)
            .ok_or_else(|| Error::Rebuild(format!("no price source known for asset {asset}")))?;
        let answer = self.answers.get(source).ok_or_else(|| {
            Error::Rebuild(format!("no AnswerUpdated seen from {source}, the source of {asset}"))
        })?;
        match answer.parse::<U256>() {
            Ok(p) if !p.is_zero() => Ok(p),
            _ => Err(Error::Rebuild(format!(
                "source {source} of {asset} answers {answer}; Aave would ask its fallback oracle"
            ))),
        }
    }

    /// Every account seen, in address order.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }

    /// `Pool.getUserAccountData(user)` at a time `t` (the timestamp of the block asked about).
    pub fn account_data(&self, user: &str, t: u64) -> Result<AccountData> {
        if self.e_mode.contains(user) {
            return Err(Error::Rebuild(format!("account {user} uses e-mode, not supported")));
        }
        let mut total_collateral = U256::ZERO;
        let mut total_debt = U256::ZERO;
        let mut avg_ltv = U256::ZERO;
        let mut avg_lt = U256::ZERO;
        let err = || overflow("account data");
        for (asset, p) in self.users.get(user).into_iter().flatten() {
            if !p.collateral && !p.borrowing {
                continue;
            }
            let reserve = self.reserves.get(asset).ok_or_else(|| {
                Error::Rebuild(format!("account {user} holds unknown reserve {asset}"))
            })?;
            let decimals = reserve.decimals.ok_or_else(|| {
                Error::Rebuild(format!(
                    "decimals of reserve {asset} are not in the dataset metadata"
                ))
            })?;
            let unit = U256::from(10u64).pow(U256::from(decimals));
            let price = self.price(asset)?;
            if !reserve.liquidation_threshold.is_zero() && p.collateral {
                let balance = ray_mul(p.scaled_a, reserve.normalized_income(t)?)?
                    .checked_mul(price)
                    .ok_or_else(err)?
                    / unit;
                total_collateral += balance;
                avg_ltv += balance.checked_mul(reserve.ltv).ok_or_else(err)?;
                avg_lt += balance.checked_mul(reserve.liquidation_threshold).ok_or_else(err)?;
            }
            if p.borrowing {
                let debt = if p.scaled_debt.is_zero() {
                    U256::ZERO
                } else {
                    ray_mul(p.scaled_debt, reserve.normalized_debt(t)?)?
                };
                total_debt += debt.checked_mul(price).ok_or_else(err)? / unit;
            }
        }
        if !total_collateral.is_zero() {
            avg_ltv /= total_collateral;
            avg_lt /= total_collateral;
        }
        let health_factor = if total_debt.is_zero() {
            U256::MAX
        } else {
            wad_div(percent_mul(total_collateral, avg_lt)?, total_debt)?
        };
        let borrowable = percent_mul(total_collateral, avg_ltv)?;
        Ok(AccountData {
            total_collateral_base: total_collateral,
            total_debt_base: total_debt,
            available_borrows_base: borrowable.saturating_sub(total_debt),
            current_liquidation_threshold: avg_lt,
            ltv: avg_ltv,
            health_factor,
        })
    }
}

/// Replays `records` (in chain order) of the dataset described by `checkpoint` up to and including
/// `block`.
pub fn rebuild(records: &[Record], checkpoint: &Checkpoint, block: u64) -> Result<MarketState> {
    let mut state = MarketState::new(checkpoint);
    for r in records.iter().take_while(|r| r.meta.block_number <= block) {
        state.apply(r)?;
    }
    state.block = block;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> U256 {
        s.parse().unwrap()
    }

    use crate::aave::store::{FORMAT_VERSION, ReserveMeta, WatchedContract};

    const WETH: &str = "0x00000000000000000000000000000000000000e1";
    const USDC: &str = "0x00000000000000000000000000000000000000c1";
    const PROXY: &str = "0x00000000000000000000000000000000000000f1";
    const AGGREGATOR: &str = "0x00000000000000000000000000000000000000a9";
    const USDC_FEED: &str = "0x00000000000000000000000000000000000000f2";
    const ALICE: &str = "0x00000000000000000000000000000000000000b0";

    fn rec(block: u64, contract: &str, event: AaveEvent) -> Record {
        Record {
            meta: crate::aave::events::LogMeta {
                block_number: block,
                block_timestamp: 1_000 + block,
                tx_hash: format!("0x{block:064x}"),
                log_index: 0,
                contract: contract.into(),
            },
            event,
        }
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            version: FORMAT_VERSION,
            chain_id: 1,
            pool: "0x01".into(),
            from_block: 0,
            partition_blocks: 10,
            next_block: 100,
            last_block_hash: None,
            contracts: vec![WatchedContract {
                address: AGGREGATOR.into(),
                role: "aggregator".into(),
                since_block: 0,
                answers_for: Some(PROXY.into()),
            }],
            reserves: vec![
                ReserveMeta { asset: WETH.into(), symbol: "WETH".into(), decimals: 18 },
                ReserveMeta { asset: USDC.into(), symbol: "USDC".into(), decimals: 6 },
            ],
        }
    }

    /// A one-account market worked by hand: 1 WETH at 2,000 USD (LT 80 %, LTV 75 %) against
    /// 1,000 USDC of debt, indices at 1.
    fn market() -> Vec<Record> {
        let init = |asset: &str, a_token: &str| AaveEvent::ReserveInitialized {
            asset: asset.into(),
            a_token: a_token.into(),
            stable_debt_token: "0x00".into(),
            variable_debt_token: "0x00".into(),
            interest_rate_strategy_address: "0x00".into(),
        };
        let config = |asset: &str, ltv: u64, lt: u64| AaveEvent::CollateralConfigurationChanged {
            asset: asset.into(),
            ltv: U256::from(ltv),
            liquidation_threshold: U256::from(lt),
            liquidation_bonus: U256::from(10_500u64),
        };
        let answer = |usd: u64| AaveEvent::AnswerUpdated {
            current: (usd * 100_000_000).to_string(),
            round_id: U256::from(1u8),
            updated_at: U256::ZERO,
        };
        vec![
            rec(1, "cfg", init(WETH, "0xa1")),
            rec(1, "cfg", init(USDC, "0xa2")),
            rec(2, "cfg", config(WETH, 7_500, 8_000)),
            rec(
                3,
                "oracle",
                AaveEvent::AssetSourceUpdated { asset: WETH.into(), source: PROXY.into() },
            ),
            rec(
                3,
                "oracle",
                AaveEvent::AssetSourceUpdated { asset: USDC.into(), source: USDC_FEED.into() },
            ),
            rec(4, AGGREGATOR, answer(2_000)),
            rec(4, USDC_FEED, answer(1)),
            // An answer from a contract that is no source must not move any price.
            rec(4, "0x00000000000000000000000000000000000000dd", answer(1)),
            rec(
                5,
                "pool",
                AaveEvent::Supply {
                    reserve: WETH.into(),
                    user: ALICE.into(),
                    on_behalf_of: ALICE.into(),
                    amount: WAD,
                    referral_code: 0,
                },
            ),
            rec(
                5,
                "pool",
                AaveEvent::ReserveUsedAsCollateral {
                    reserve: WETH.into(),
                    user: ALICE.into(),
                    enabled: true,
                },
            ),
            rec(
                6,
                "pool",
                AaveEvent::Borrow {
                    reserve: USDC.into(),
                    user: ALICE.into(),
                    on_behalf_of: ALICE.into(),
                    amount: U256::from(1_000_000_000u64),
                    interest_rate_mode: 2,
                    borrow_rate: U256::ZERO,
                    referral_code: 0,
                },
            ),
        ]
    }

    #[test]
    fn a_hand_worked_account_matches_aave_formulas() {
        let records = market();
        let state = rebuild(&records, &checkpoint(), 6).unwrap();
        let d = state.account_data(ALICE, 1_006).unwrap();
        let usd = |x: u64| U256::from(x) * U256::from(100_000_000u64);
        assert_eq!(d.total_collateral_base, usd(2_000));
        assert_eq!(d.total_debt_base, usd(1_000));
        assert_eq!(d.available_borrows_base, usd(500));
        assert_eq!(d.current_liquidation_threshold, U256::from(8_000u64));
        assert_eq!(d.ltv, U256::from(7_500u64));
        assert_eq!(d.health_factor, u("1600000000000000000"));
        // Before the borrow the account has no debt.
        let before = rebuild(&records, &checkpoint(), 5).unwrap();
        assert_eq!(before.account_data(ALICE, 1_005).unwrap().health_factor, U256::MAX);
    }

    #[test]
    fn a_full_repay_clears_the_debt_and_an_overdrawn_balance_is_an_error() {
        let mut records = market();
        records.push(rec(
            7,
            "pool",
            AaveEvent::Repay {
                reserve: USDC.into(),
                user: ALICE.into(),
                repayer: ALICE.into(),
                amount: U256::from(1_000_000_000u64),
                use_a_tokens: false,
            },
        ));
        let state = rebuild(&records, &checkpoint(), 7).unwrap();
        assert_eq!(state.account_data(ALICE, 1_007).unwrap().health_factor, U256::MAX);
        records.push(rec(
            8,
            "pool",
            AaveEvent::Withdraw {
                reserve: WETH.into(),
                user: ALICE.into(),
                to: ALICE.into(),
                amount: WAD + U256::from(1u8) * WAD,
            },
        ));
        let err = rebuild(&records, &checkpoint(), 8).unwrap_err().to_string();
        assert!(err.contains("below zero at block 8"), "{err}");
    }

    #[test]
    fn a_price_source_without_answers_is_an_error_naming_it() {
        let mut cp = checkpoint();
        cp.contracts.clear(); // the aggregator no longer answers for the proxy
        let state = rebuild(&market(), &cp, 6).unwrap();
        let err = state.account_data(ALICE, 1_006).unwrap_err().to_string();
        assert!(err.contains(PROXY) && err.contains(WETH), "{err}");
    }

    #[test]
    fn ray_constants() {
        assert_eq!(RAY, u("1000000000000000000000000000"));
        assert_eq!(WAD, u("1000000000000000000"));
    }

    #[test]
    fn wad_ray_math_rounds_half_up_like_aave() {
        // rayMul(1.5 ray-units, 1 wei) rounds 0.5 up; rayDiv likewise.
        assert_eq!(ray_mul(RAY + (RAY >> 1), U256::from(1u8)).unwrap(), U256::from(2u8));
        assert_eq!(ray_mul(RAY, U256::from(7u8)).unwrap(), U256::from(7u8));
        assert_eq!(ray_div(U256::from(1u8), U256::from(3u8) * RAY).unwrap(), U256::ZERO);
        assert_eq!(ray_div(U256::from(2u8), U256::from(3u8) * RAY).unwrap(), U256::from(1u8));
        assert_eq!(percent_mul(U256::from(3u8), U256::from(5_000u16)).unwrap(), U256::from(2u8));
        assert_eq!(wad_div(U256::from(1u8), U256::from(3u8)).unwrap(), u("333333333333333333"));
        assert!(ray_div(U256::from(1u8), U256::ZERO).is_err());
        assert!(ray_mul(U256::MAX, U256::from(2u8)).is_err());
    }

    #[test]
    fn interest_growth_matches_aave_formulas() {
        // 5% a year for one year: linear gives exactly 1.05; the compounded three-term expansion
        // gives 1 + x + x²/2 + x³/6 (with Aave's integer truncations), just under e^0.05.
        let rate = RAY / U256::from(20u8);
        let year = SECONDS_PER_YEAR;
        assert_eq!(linear_interest(rate, year).unwrap(), RAY + rate);
        let c = compounded_interest(rate, year).unwrap();
        let f = f64::from(c) / 1e27;
        assert!((f - 0.05f64.exp_m1() - 1.0).abs() < 1e-4, "{f}");
        assert!(c > RAY + rate);
        assert_eq!(compounded_interest(rate, 0).unwrap(), RAY);
        assert_eq!(compounded_interest(rate, 1).unwrap(), RAY + rate / U256::from(year));
    }
}
