//! Decoded Aave v3 events as plain rows, and the Parquet table each kind is stored in.
//!
//! Every event kind maps to one table (see [`TABLES`]). Each table has the five columns of
//! [`LogMeta`] followed by the event's own fields in the order of its Solidity declaration:
//!
//! | column kind | Parquet type | contents |
//! |---|---|---|
//! | address | `String` | lowercase `0x`-prefixed hex, 40 digits |
//! | uint | `String` | decimal digits of a `uint256` (exact; Parquet has no 256-bit integer) |
//! | int | `String` | decimal digits of an `int256`, with a leading `-` when negative |
//! | small | `UInt64` | a `uint8`/`uint16` field (rate mode, referral code, e-mode category) |
//! | flag | `Boolean` | a `bool` field |

use ruint::aliases::U256;

/// Where a log came from: the columns every table starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMeta {
    /// Block number.
    pub block_number: u64,
    /// Block timestamp (seconds since the Unix epoch).
    pub block_timestamp: u64,
    /// Transaction hash, `0x`-prefixed lowercase hex.
    pub tx_hash: String,
    /// Index of the log within its block.
    pub log_index: u64,
    /// Address of the contract that emitted the log (lowercase hex).
    pub contract: String,
}

/// One decoded event. Field names follow Aave v3's `IPool.sol`, `IPoolConfigurator.sol`,
/// `IAaveOracle.sol`, `IAToken.sol` and Chainlink's `AggregatorInterface`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AaveEvent {
    /// `Pool.Supply`.
    Supply {
        /// Underlying asset.
        reserve: String,
        /// Caller.
        user: String,
        /// Receiver of the aTokens.
        on_behalf_of: String,
        /// Amount supplied (token units).
        amount: U256,
        /// Referral code.
        referral_code: u64,
    },
    /// `Pool.Withdraw`.
    Withdraw {
        /// Underlying asset.
        reserve: String,
        /// Owner of the aTokens burned.
        user: String,
        /// Receiver of the underlying.
        to: String,
        /// Amount withdrawn (token units).
        amount: U256,
    },
    /// `Pool.Borrow`.
    Borrow {
        /// Underlying asset.
        reserve: String,
        /// Caller.
        user: String,
        /// Account that receives the debt.
        on_behalf_of: String,
        /// Amount borrowed (token units).
        amount: U256,
        /// 1 stable, 2 variable.
        interest_rate_mode: u64,
        /// Borrow rate (ray) after the action.
        borrow_rate: U256,
        /// Referral code.
        referral_code: u64,
    },
    /// `Pool.Repay`.
    Repay {
        /// Underlying asset.
        reserve: String,
        /// Account whose debt is repaid.
        user: String,
        /// Caller who paid.
        repayer: String,
        /// Amount repaid (token units).
        amount: U256,
        /// Whether the repayer paid with aTokens.
        use_a_tokens: bool,
    },
    /// `Pool.LiquidationCall`.
    LiquidationCall {
        /// Collateral seized.
        collateral_asset: String,
        /// Debt repaid.
        debt_asset: String,
        /// Liquidated account.
        user: String,
        /// Debt repaid (debt token units).
        debt_to_cover: U256,
        /// Collateral sent to the liquidator (collateral units, protocol fee excluded).
        liquidated_collateral_amount: U256,
        /// Caller.
        liquidator: String,
        /// Whether the liquidator took aTokens instead of the underlying.
        receive_a_token: bool,
    },
    /// `Pool.ReserveDataUpdated`: a reserve's rates and indices after an action.
    ReserveDataUpdated {
        /// Underlying asset.
        reserve: String,
        /// Supply rate (ray).
        liquidity_rate: U256,
        /// Stable borrow rate (ray).
        stable_borrow_rate: U256,
        /// Variable borrow rate (ray).
        variable_borrow_rate: U256,
        /// Liquidity index (ray).
        liquidity_index: U256,
        /// Variable borrow index (ray).
        variable_borrow_index: U256,
    },
    /// `Pool.ReserveUsedAsCollateralEnabled` / `...Disabled`.
    ReserveUsedAsCollateral {
        /// Underlying asset.
        reserve: String,
        /// Account.
        user: String,
        /// `true` for `Enabled`, `false` for `Disabled`.
        enabled: bool,
    },
    /// `Pool.UserEModeSet`.
    UserEModeSet {
        /// Account.
        user: String,
        /// E-mode category (0 = none).
        category_id: u64,
    },
    /// `PoolConfigurator.CollateralConfigurationChanged`.
    CollateralConfigurationChanged {
        /// Underlying asset.
        asset: String,
        /// Loan-to-value (bps).
        ltv: U256,
        /// Liquidation threshold (bps).
        liquidation_threshold: U256,
        /// Liquidation bonus (bps, 10000 = none).
        liquidation_bonus: U256,
    },
    /// `PoolConfigurator.ReserveInitialized`.
    ReserveInitialized {
        /// Underlying asset.
        asset: String,
        /// aToken proxy.
        a_token: String,
        /// Stable debt token proxy.
        stable_debt_token: String,
        /// Variable debt token proxy.
        variable_debt_token: String,
        /// Interest-rate strategy.
        interest_rate_strategy_address: String,
    },
    /// `AaveOracle.AssetSourceUpdated`.
    AssetSourceUpdated {
        /// Underlying asset.
        asset: String,
        /// Price source (a Chainlink-style aggregator).
        source: String,
    },
    /// Chainlink `AnswerUpdated`, emitted by a price aggregator (the log's `contract`).
    AnswerUpdated {
        /// The new answer (signed decimal string; USD with 8 decimals for Aave's sources).
        current: String,
        /// Round id.
        round_id: U256,
        /// Round timestamp.
        updated_at: U256,
    },
    /// `AToken.BalanceTransfer` (the log's `contract` is the aToken); `value` is scaled.
    BalanceTransfer {
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
        /// Scaled amount (token units divided by `index`).
        value: U256,
        /// Liquidity index used for the transfer (ray).
        index: U256,
    },
}

/// A decoded event with its position on the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Block, transaction, log index and emitter.
    pub meta: LogMeta,
    /// The event.
    pub event: AaveEvent,
}

/// How a column is stored (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `String`, lowercase hex address.
    Address,
    /// `String`, decimal `uint256`.
    Uint,
    /// `String`, decimal `int256`.
    Int,
    /// `UInt64`.
    Small,
    /// `Boolean`.
    Flag,
}

/// A table: its name (the Parquet file stem) and its event columns.
#[derive(Debug)]
pub struct TableSpec {
    /// File stem, e.g. `supply` for `supply.parquet`.
    pub name: &'static str,
    /// Event columns after the [`LogMeta`] columns.
    pub columns: &'static [(&'static str, ColumnKind)],
}

use ColumnKind::{Address as A, Flag as F, Int as I, Small as S, Uint as U};

/// The columns every table starts with, from [`LogMeta`].
pub const META_COLUMNS: [&str; 5] =
    ["block_number", "block_timestamp", "tx_hash", "log_index", "contract"];

/// Every table, one per event kind.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "supply",
        columns: &[
            ("reserve", A),
            ("user", A),
            ("on_behalf_of", A),
            ("amount", U),
            ("referral_code", S),
        ],
    },
    TableSpec {
        name: "withdraw",
        columns: &[("reserve", A), ("user", A), ("to", A), ("amount", U)],
    },
    TableSpec {
        name: "borrow",
        columns: &[
            ("reserve", A),
            ("user", A),
            ("on_behalf_of", A),
            ("amount", U),
            ("interest_rate_mode", S),
            ("borrow_rate", U),
            ("referral_code", S),
        ],
    },
    TableSpec {
        name: "repay",
        columns: &[("reserve", A), ("user", A), ("repayer", A), ("amount", U), ("use_a_tokens", F)],
    },
    TableSpec {
        name: "liquidation_call",
        columns: &[
            ("collateral_asset", A),
            ("debt_asset", A),
            ("user", A),
            ("debt_to_cover", U),
            ("liquidated_collateral_amount", U),
            ("liquidator", A),
            ("receive_a_token", F),
        ],
    },
    TableSpec {
        name: "reserve_data_updated",
        columns: &[
            ("reserve", A),
            ("liquidity_rate", U),
            ("stable_borrow_rate", U),
            ("variable_borrow_rate", U),
            ("liquidity_index", U),
            ("variable_borrow_index", U),
        ],
    },
    TableSpec {
        name: "reserve_used_as_collateral",
        columns: &[("reserve", A), ("user", A), ("enabled", F)],
    },
    TableSpec { name: "user_emode_set", columns: &[("user", A), ("category_id", S)] },
    TableSpec {
        name: "collateral_configuration_changed",
        columns: &[
            ("asset", A),
            ("ltv", U),
            ("liquidation_threshold", U),
            ("liquidation_bonus", U),
        ],
    },
    TableSpec {
        name: "reserve_initialized",
        columns: &[
            ("asset", A),
            ("a_token", A),
            ("stable_debt_token", A),
            ("variable_debt_token", A),
            ("interest_rate_strategy_address", A),
        ],
    },
    TableSpec { name: "asset_source_updated", columns: &[("asset", A), ("source", A)] },
    TableSpec {
        name: "answer_updated",
        columns: &[("current", I), ("round_id", U), ("updated_at", U)],
    },
    TableSpec {
        name: "balance_transfer",
        columns: &[("from", A), ("to", A), ("value", U), ("index", U)],
    },
];

/// One cell of an event column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// An address, an `int256` or a `uint256`, as stored (hex or decimal text).
    Text(String),
    /// A small unsigned integer.
    Small(u64),
    /// A boolean.
    Flag(bool),
}

fn u(v: &U256) -> Cell {
    Cell::Text(v.to_string())
}

fn a(v: &str) -> Cell {
    Cell::Text(v.to_string())
}

impl AaveEvent {
    /// Index into [`TABLES`] of this event's table.
    pub const fn table_index(&self) -> usize {
        match self {
            Self::Supply { .. } => 0,
            Self::Withdraw { .. } => 1,
            Self::Borrow { .. } => 2,
            Self::Repay { .. } => 3,
            Self::LiquidationCall { .. } => 4,
            Self::ReserveDataUpdated { .. } => 5,
            Self::ReserveUsedAsCollateral { .. } => 6,
            Self::UserEModeSet { .. } => 7,
            Self::CollateralConfigurationChanged { .. } => 8,
            Self::ReserveInitialized { .. } => 9,
            Self::AssetSourceUpdated { .. } => 10,
            Self::AnswerUpdated { .. } => 11,
            Self::BalanceTransfer { .. } => 12,
        }
    }

    /// The event's cells, in its table's column order.
    pub fn cells(&self) -> Vec<Cell> {
        match self {
            Self::Supply { reserve, user, on_behalf_of, amount, referral_code } => {
                vec![a(reserve), a(user), a(on_behalf_of), u(amount), Cell::Small(*referral_code)]
            }
            Self::Withdraw { reserve, user, to, amount } => {
                vec![a(reserve), a(user), a(to), u(amount)]
            }
            Self::Borrow {
                reserve,
                user,
                on_behalf_of,
                amount,
                interest_rate_mode,
                borrow_rate,
                referral_code,
            } => vec![
                a(reserve),
                a(user),
                a(on_behalf_of),
                u(amount),
                Cell::Small(*interest_rate_mode),
                u(borrow_rate),
                Cell::Small(*referral_code),
            ],
            Self::Repay { reserve, user, repayer, amount, use_a_tokens } => {
                vec![a(reserve), a(user), a(repayer), u(amount), Cell::Flag(*use_a_tokens)]
            }
            Self::LiquidationCall {
                collateral_asset,
                debt_asset,
                user,
                debt_to_cover,
                liquidated_collateral_amount,
                liquidator,
                receive_a_token,
            } => vec![
                a(collateral_asset),
                a(debt_asset),
                a(user),
                u(debt_to_cover),
                u(liquidated_collateral_amount),
                a(liquidator),
                Cell::Flag(*receive_a_token),
            ],
            Self::ReserveDataUpdated {
                reserve,
                liquidity_rate,
                stable_borrow_rate,
                variable_borrow_rate,
                liquidity_index,
                variable_borrow_index,
            } => vec![
                a(reserve),
                u(liquidity_rate),
                u(stable_borrow_rate),
                u(variable_borrow_rate),
                u(liquidity_index),
                u(variable_borrow_index),
            ],
            Self::ReserveUsedAsCollateral { reserve, user, enabled } => {
                vec![a(reserve), a(user), Cell::Flag(*enabled)]
            }
            Self::UserEModeSet { user, category_id } => vec![a(user), Cell::Small(*category_id)],
            Self::CollateralConfigurationChanged {
                asset,
                ltv,
                liquidation_threshold,
                liquidation_bonus,
            } => vec![a(asset), u(ltv), u(liquidation_threshold), u(liquidation_bonus)],
            Self::ReserveInitialized {
                asset,
                a_token,
                stable_debt_token,
                variable_debt_token,
                interest_rate_strategy_address,
            } => vec![
                a(asset),
                a(a_token),
                a(stable_debt_token),
                a(variable_debt_token),
                a(interest_rate_strategy_address),
            ],
            Self::AssetSourceUpdated { asset, source } => vec![a(asset), a(source)],
            Self::AnswerUpdated { current, round_id, updated_at } => {
                vec![a(current), u(round_id), u(updated_at)]
            }
            Self::BalanceTransfer { from, to, value, index } => {
                vec![a(from), a(to), u(value), u(index)]
            }
        }
    }

    /// Rebuilds an event of table `table` from its cells (the inverse of [`Self::cells`]).
    ///
    /// Errors name the column whose cell has the wrong kind or does not parse.
    pub fn from_cells(table: usize, cells: &[Cell]) -> Result<Self, String> {
        let spec = TABLES.get(table).ok_or_else(|| format!("no table with index {table}"))?;
        if cells.len() != spec.columns.len() {
            return Err(format!(
                "table `{}` has {} columns, got {} cells",
                spec.name,
                spec.columns.len(),
                cells.len()
            ));
        }
        let text = |i: usize| match &cells[i] {
            Cell::Text(s) => Ok(s.clone()),
            other => Err(format!("column `{}`: expected text, got {other:?}", spec.columns[i].0)),
        };
        let uint = |i: usize| {
            let s = text(i)?;
            s.parse::<U256>()
                .map_err(|e| format!("column `{}`: `{s}` is not a uint256: {e}", spec.columns[i].0))
        };
        let small = |i: usize| match &cells[i] {
            Cell::Small(v) => Ok(*v),
            other => {
                Err(format!("column `{}`: expected integer, got {other:?}", spec.columns[i].0))
            }
        };
        let flag = |i: usize| match &cells[i] {
            Cell::Flag(v) => Ok(*v),
            other => {
                Err(format!("column `{}`: expected boolean, got {other:?}", spec.columns[i].0))
            }
        };
        Ok(match table {
            0 => Self::Supply {
                reserve: text(0)?,
                user: text(1)?,
                on_behalf_of: text(2)?,
                amount: uint(3)?,
                referral_code: small(4)?,
            },
            1 => {
                Self::Withdraw { reserve: text(0)?, user: text(1)?, to: text(2)?, amount: uint(3)? }
            }
            2 => Self::Borrow {
                reserve: text(0)?,
                user: text(1)?,
                on_behalf_of: text(2)?,
                amount: uint(3)?,
                interest_rate_mode: small(4)?,
                borrow_rate: uint(5)?,
                referral_code: small(6)?,
            },
            3 => Self::Repay {
                reserve: text(0)?,
                user: text(1)?,
                repayer: text(2)?,
                amount: uint(3)?,
                use_a_tokens: flag(4)?,
            },
            4 => Self::LiquidationCall {
                collateral_asset: text(0)?,
                debt_asset: text(1)?,
                user: text(2)?,
                debt_to_cover: uint(3)?,
                liquidated_collateral_amount: uint(4)?,
                liquidator: text(5)?,
                receive_a_token: flag(6)?,
            },
            5 => Self::ReserveDataUpdated {
                reserve: text(0)?,
                liquidity_rate: uint(1)?,
                stable_borrow_rate: uint(2)?,
                variable_borrow_rate: uint(3)?,
                liquidity_index: uint(4)?,
                variable_borrow_index: uint(5)?,
            },
            6 => Self::ReserveUsedAsCollateral {
                reserve: text(0)?,
                user: text(1)?,
                enabled: flag(2)?,
            },
            7 => Self::UserEModeSet { user: text(0)?, category_id: small(1)? },
            8 => Self::CollateralConfigurationChanged {
                asset: text(0)?,
                ltv: uint(1)?,
                liquidation_threshold: uint(2)?,
                liquidation_bonus: uint(3)?,
            },
            9 => Self::ReserveInitialized {
                asset: text(0)?,
                a_token: text(1)?,
                stable_debt_token: text(2)?,
                variable_debt_token: text(3)?,
                interest_rate_strategy_address: text(4)?,
            },
            10 => Self::AssetSourceUpdated { asset: text(0)?, source: text(1)? },
            11 => {
                Self::AnswerUpdated { current: text(0)?, round_id: uint(1)?, updated_at: uint(2)? }
            }
            _ => Self::BalanceTransfer {
                from: text(0)?,
                to: text(1)?,
                value: uint(2)?,
                index: uint(3)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<AaveEvent> {
        let x = "0x00000000000000000000000000000000000000aa".to_string();
        let big = U256::MAX - U256::from(7u8);
        vec![
            AaveEvent::Supply {
                reserve: x.clone(),
                user: x.clone(),
                on_behalf_of: x.clone(),
                amount: big,
                referral_code: 7,
            },
            AaveEvent::Withdraw { reserve: x.clone(), user: x.clone(), to: x.clone(), amount: big },
            AaveEvent::Borrow {
                reserve: x.clone(),
                user: x.clone(),
                on_behalf_of: x.clone(),
                amount: big,
                interest_rate_mode: 2,
                borrow_rate: U256::from(3u8),
                referral_code: 0,
            },
            AaveEvent::Repay {
                reserve: x.clone(),
                user: x.clone(),
                repayer: x.clone(),
                amount: big,
                use_a_tokens: true,
            },
            AaveEvent::LiquidationCall {
                collateral_asset: x.clone(),
                debt_asset: x.clone(),
                user: x.clone(),
                debt_to_cover: big,
                liquidated_collateral_amount: U256::ZERO,
                liquidator: x.clone(),
                receive_a_token: false,
            },
            AaveEvent::ReserveDataUpdated {
                reserve: x.clone(),
                liquidity_rate: big,
                stable_borrow_rate: big,
                variable_borrow_rate: big,
                liquidity_index: big,
                variable_borrow_index: big,
            },
            AaveEvent::ReserveUsedAsCollateral {
                reserve: x.clone(),
                user: x.clone(),
                enabled: true,
            },
            AaveEvent::UserEModeSet { user: x.clone(), category_id: 1 },
            AaveEvent::CollateralConfigurationChanged {
                asset: x.clone(),
                ltv: U256::from(8000u16),
                liquidation_threshold: U256::from(8250u16),
                liquidation_bonus: U256::from(10500u16),
            },
            AaveEvent::ReserveInitialized {
                asset: x.clone(),
                a_token: x.clone(),
                stable_debt_token: x.clone(),
                variable_debt_token: x.clone(),
                interest_rate_strategy_address: x.clone(),
            },
            AaveEvent::AssetSourceUpdated { asset: x.clone(), source: x.clone() },
            AaveEvent::AnswerUpdated {
                current: "-5".into(),
                round_id: U256::from(1u8),
                updated_at: U256::from(2u8),
            },
            AaveEvent::BalanceTransfer { from: x.clone(), to: x, value: big, index: big },
        ]
    }

    #[test]
    fn every_table_round_trips_through_cells() {
        let events = samples();
        assert_eq!(events.len(), TABLES.len());
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.table_index(), i);
            let cells = event.cells();
            assert_eq!(cells.len(), TABLES[i].columns.len(), "{}", TABLES[i].name);
            assert_eq!(&AaveEvent::from_cells(i, &cells).unwrap(), event);
        }
    }

    #[test]
    fn a_bad_cell_names_its_column() {
        let mut cells = samples()[0].cells();
        cells[3] = Cell::Text("12x".into());
        let err = AaveEvent::from_cells(0, &cells).unwrap_err();
        assert!(err.contains("`amount`") && err.contains("12x"), "{err}");
    }
}
