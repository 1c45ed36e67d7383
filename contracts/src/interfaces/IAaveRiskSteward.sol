// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IAaveRiskSteward
/// @notice A bounded, delayed, guardian-watched path from a risk feed to one Aave v3 market's risk
///         parameters (LTV, liquidation threshold, liquidation bonus, supply cap, borrow cap), in the
///         manner of Aave's own Risk Stewards. The steward holds Aave's RISK_ADMIN role; the feed
///         (`RiskOracle`) holds no Aave role at all and can only queue updates here.
/// @dev Life of an update: the RiskOracle `queue`s it (checked at once); after `executionDelay` and
///      before its `validUntil`, anyone may `execute` it (checked again against Aave's values at that
///      moment); until then the guardian may `disable` it. Only the newest queued update of an asset
///      may execute. Each parameter may move at most `maxIncrease`/`maxDecrease` from Aave's current
///      value (absolute bps for LTV, LT and bonus; relative bps of the current value for caps), and at
///      most once per `minDelay` seconds. LTV must stay strictly below LT; zero values are rejected.
///
///      Roles.
///      - Owner (the DAO's executor, immutable): names the RiskOracle once, sets the guardian,
///        restricts or frees assets, pauses, unpauses and disables updates. It cannot change the
///        bounds, the delays, the Aave market, or apply a value without going through the same checks.
///      - Guardian: pauses and unpauses the steward and disables single queued updates. It cannot queue
///        or execute anything, nor move a parameter.
///      - RiskOracle: queues updates (only updates that pass every check at that moment).
///      - Anyone: executes a ready update (the delay made it public; executing grants no discretion but
///        the block).
///      - Nobody can: call any other PoolConfigurator function through this contract, set a cap to
///        zero (unlimited), move a restricted asset, or skip the delay, the bounds or the expiry.
interface IAaveRiskSteward {
    /// @notice The state of a queued update.
    enum Status {
        None,
        Pending,
        Executed,
        Disabled
    }

    /// @notice How far and how often one parameter may move.
    /// @param maxIncrease The largest increase per change: bps of 100 % (LTV, LT, bonus) or bps of the
    ///        current value (caps).
    /// @param maxDecrease The largest decrease per change, in the same unit.
    /// @param minDelay Seconds that must pass after a change of this parameter before the next one.
    struct Bound {
        uint16 maxIncrease;
        uint16 maxDecrease;
        uint32 minDelay;
    }

    /// @notice The parameters one update proposes for one reserve.
    /// @param asset The reserve's underlying asset.
    /// @param ltv Loan-to-value, bps; required (non-zero), below `liquidationThreshold`.
    /// @param liquidationThreshold Liquidation threshold, bps; required.
    /// @param liquidationBonus Liquidation bonus, bps (10_500 = 5 %); required.
    /// @param supplyCap Aave supply cap in whole tokens, or `KEEP_CURRENT`.
    /// @param borrowCap Aave borrow cap in whole tokens, or `KEEP_CURRENT`.
    /// @param validUntil The last second at which the update may be queued or executed.
    struct ParamUpdate {
        address asset;
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint64 supplyCap;
        uint64 borrowCap;
        uint40 validUntil;
    }

    /// @notice A queued update and its state.
    struct QueuedUpdate {
        ParamUpdate update;
        uint40 queuedAt;
        Status status;
    }

    /// @notice Queues `update`; only the RiskOracle may call.
    /// @dev Reverts unless every check of `execute` passes now: not paused (`StewardPaused`), asset not
    ///      restricted (`AssetRestricted`), not expired (`UpdateExpired`), no zero value (`ZeroValue`),
    ///      LTV < LT (`LtvNotBelowLt`), and each changed parameter within its bound (`BoundExceeded`,
    ///      `UnlimitedCap`) and past its minimum delay (`DelayNotElapsed`). The new update supersedes any
    ///      earlier pending update of the same asset.
    /// @return id The update's id (ids start at 1).
    function queue(ParamUpdate calldata update) external returns (uint256 id);

    /// @notice Applies a queued update to Aave; anyone may call.
    /// @dev Reverts with `UnknownUpdate`, `UpdateNotPending` (executed or disabled), `UpdateSuperseded`,
    ///      `UpdateNotReady` (before `queuedAt + executionDelay`), or any check of `queue`, evaluated
    ///      against Aave's values now. Parameters equal to Aave's current values are left untouched
    ///      (their delay does not restart). Aave's own reverts pass through unchanged.
    function execute(uint256 id) external;

    /// @notice Disables one pending update (the guardian's veto); the guardian or the owner may call.
    function disable(uint256 id) external;

    /// @notice Stops every `queue` and `execute`; the guardian or the owner may call.
    function pause() external;

    /// @notice Lifts the pause; the guardian or the owner may call.
    function unpause() external;

    /// @notice Names the RiskOracle; the owner may call it once.
    function setRiskOracle(address riskOracle) external;

    /// @notice Names the guardian (zero: no guardian; the owner keeps its powers); owner only.
    function setGuardian(address guardian) external;

    /// @notice Restricts `asset` (no update queues or executes) or lifts the restriction; owner only.
    function setAssetRestricted(address asset, bool restricted) external;

    /// @notice A sentinel for `supplyCap`/`borrowCap`: leave the cap as it is.
    function KEEP_CURRENT() external view returns (uint64);

    /// @notice The bound of parameter `param` (0 LTV, 1 LT, 2 bonus, 3 supply cap, 4 borrow cap).
    function bound(uint8 param) external view returns (Bound memory);

    /// @notice When `param` of `asset` last changed through this steward (0 if never).
    function lastUpdated(address asset, uint8 param) external view returns (uint64);

    /// @notice Queued update `id` (all zero if unknown).
    function queuedUpdate(uint256 id) external view returns (QueuedUpdate memory);

    /// @notice The newest queued update of `asset` (0 if none).
    function latestUpdateId(address asset) external view returns (uint256);

    /// @notice The number of updates ever queued (the last id).
    function updateCount() external view returns (uint256);

    /// @notice Seconds between queueing and the earliest execution.
    function executionDelay() external view returns (uint40);

    /// @notice Whether `queue` and `execute` are stopped.
    function paused() external view returns (bool);

    /// @notice Whether `asset` is restricted.
    function isRestricted(address asset) external view returns (bool);

    /// @notice The owner (immutable).
    function owner() external view returns (address);

    /// @notice The guardian.
    function guardian() external view returns (address);

    /// @notice The only caller of `queue` (zero until named).
    function riskOracle() external view returns (address);

    /// @notice Aave's PoolConfigurator of the market.
    function poolConfigurator() external view returns (address);

    /// @notice Aave's PoolDataProvider of the market, read for the current values.
    function poolDataProvider() external view returns (address);
}
