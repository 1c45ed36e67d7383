// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IPoolConfigurator} from "@aave/core-v3/contracts/interfaces/IPoolConfigurator.sol";
import {IPoolDataProvider} from "@aave/core-v3/contracts/interfaces/IPoolDataProvider.sol";

import {IAaveRiskSteward} from "./interfaces/IAaveRiskSteward.sol";
import {Errors} from "./libraries/Errors.sol";
import {Events} from "./libraries/Events.sol";

/// @title AaveRiskSteward
/// @notice Applies `RiskOracle`'s accepted updates to a real Aave v3 market within per-parameter bounds,
///         after a public delay, with a guardian that can pause it or veto one update. It holds Aave's
///         RISK_ADMIN role (granted by the market's ACL admin) and calls only
///         `configureReserveAsCollateral`, `setSupplyCap` and `setBorrowCap` on Aave's PoolConfigurator.
/// @dev See `IAaveRiskSteward` for the roles and the life of an update. Design notes:
///      - Bounds are relative to the value Aave holds when the update executes (read from Aave's
///        PoolDataProvider), not to a value this contract remembers, so a change by Aave governance
///        in between is respected.
///      - Bounds, delays and the market are set at construction and never change: a DAO that wants
///        other bounds deploys another steward and moves RISK_ADMIN to it.
///      - Same-transaction attack (cut the liquidation threshold, then liquidate): the cut is at most
///        `maxDecrease` bps per `minDelay` (Aave's production bounds: 50 bps per 3 days), it is public
///        for `executionDelay` seconds before anyone can apply it (borrowers can add collateral, the
///        guardian can disable it), and whoever applies it picks only the block, not the value.
///      - Why a one-time setter for the oracle: the RiskOracle takes this steward as an immutable
///        constructor argument, so the steward must exist first. Until named, every `queue` reverts.
contract AaveRiskSteward is IAaveRiskSteward {
    /// @notice 100 % in basis points.
    uint256 internal constant BPS = 10_000;
    /// @notice Parameter indices (the `param` of errors and of `bound`/`lastUpdated`).
    uint8 internal constant LTV = 0;
    uint8 internal constant LIQUIDATION_THRESHOLD = 1;
    uint8 internal constant LIQUIDATION_BONUS = 2;
    uint8 internal constant SUPPLY_CAP = 3;
    uint8 internal constant BORROW_CAP = 4;
    uint8 internal constant PARAM_COUNT = 5;

    /// @inheritdoc IAaveRiskSteward
    uint64 public constant KEEP_CURRENT = type(uint64).max;

    /// @inheritdoc IAaveRiskSteward
    address public immutable poolConfigurator;
    /// @inheritdoc IAaveRiskSteward
    address public immutable poolDataProvider;
    /// @inheritdoc IAaveRiskSteward
    address public immutable owner;
    /// @inheritdoc IAaveRiskSteward
    uint40 public immutable executionDelay;

    /// @inheritdoc IAaveRiskSteward
    address public riskOracle;
    /// @inheritdoc IAaveRiskSteward
    address public guardian;
    /// @inheritdoc IAaveRiskSteward
    bool public paused;
    /// @inheritdoc IAaveRiskSteward
    uint256 public updateCount;

    Bound[PARAM_COUNT] internal _bounds;
    mapping(address asset => bool) internal _restricted;
    mapping(address asset => mapping(uint8 param => uint64)) internal _lastUpdated;
    mapping(address asset => uint256) internal _latestUpdateId;
    mapping(uint256 id => QueuedUpdate) internal _queue;

    /// @param poolConfigurator_ Aave's PoolConfigurator (the proxy) of the market.
    /// @param poolDataProvider_ Aave's PoolDataProvider of the same market.
    /// @param owner_ The DAO's executor: names the oracle, sets the guardian, restricts assets.
    /// @param guardian_ May pause and disable updates (zero: none until the owner names one).
    /// @param executionDelay_ Seconds between queueing and the earliest execution.
    /// @param bounds_ Per parameter (LTV, LT, bonus, supply cap, borrow cap): max increase, max decrease
    ///        and minimum delay. Each needs a non-zero delay; LTV/LT/bonus decreases must be below 100 %,
    ///        cap decreases below 100 % of the cap.
    constructor(
        address poolConfigurator_,
        address poolDataProvider_,
        address owner_,
        address guardian_,
        uint40 executionDelay_,
        Bound[PARAM_COUNT] memory bounds_
    ) {
        if (poolConfigurator_ == address(0) || poolDataProvider_ == address(0) || owner_ == address(0)) {
            revert Errors.ZeroAddress();
        }
        for (uint8 p; p < PARAM_COUNT; ++p) {
            if (bounds_[p].minDelay == 0 || bounds_[p].maxDecrease >= BPS) revert Errors.InvalidBounds(p);
            _bounds[p] = bounds_[p];
        }
        poolConfigurator = poolConfigurator_;
        poolDataProvider = poolDataProvider_;
        owner = owner_;
        guardian = guardian_;
        executionDelay = executionDelay_;
        emit Events.GuardianSet(address(0), guardian_);
    }

    /* ------------------------------------ governance ------------------------------------ */

    /// @inheritdoc IAaveRiskSteward
    function setRiskOracle(address riskOracle_) external {
        if (msg.sender != owner) revert Errors.NotOwner();
        if (riskOracle != address(0)) revert Errors.OracleAlreadySet();
        if (riskOracle_ == address(0)) revert Errors.ZeroAddress();
        riskOracle = riskOracle_;
        emit Events.RiskOracleSet(riskOracle_);
    }

    /// @inheritdoc IAaveRiskSteward
    function setGuardian(address guardian_) external {
        if (msg.sender != owner) revert Errors.NotOwner();
        emit Events.GuardianSet(guardian, guardian_);
        guardian = guardian_;
    }

    /// @inheritdoc IAaveRiskSteward
    function setAssetRestricted(address asset, bool restricted) external {
        if (msg.sender != owner) revert Errors.NotOwner();
        _restricted[asset] = restricted;
        emit Events.AssetRestrictionSet(asset, restricted);
    }

    /// @inheritdoc IAaveRiskSteward
    function pause() external {
        _onlyGuardianOrOwner();
        paused = true;
        emit Events.PauseSet(true, msg.sender);
    }

    /// @inheritdoc IAaveRiskSteward
    function unpause() external {
        _onlyGuardianOrOwner();
        paused = false;
        emit Events.PauseSet(false, msg.sender);
    }

    /// @inheritdoc IAaveRiskSteward
    function disable(uint256 id) external {
        _onlyGuardianOrOwner();
        QueuedUpdate storage queued = _queue[id];
        if (queued.status == Status.None) revert Errors.UnknownUpdate(id);
        if (queued.status != Status.Pending) revert Errors.UpdateNotPending(id);
        queued.status = Status.Disabled;
        emit Events.UpdateDisabled(id, queued.update.asset, msg.sender);
    }

    /* ------------------------------------- updates ------------------------------------- */

    /// @inheritdoc IAaveRiskSteward
    function queue(ParamUpdate calldata update) external returns (uint256 id) {
        if (msg.sender != riskOracle || msg.sender == address(0)) revert Errors.NotRiskOracle();
        _check(update);
        id = ++updateCount;
        // Casting is safe: block timestamps fit 40 bits until the year 36812.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint40 nowTimestamp = uint40(block.timestamp);
        _queue[id] = QueuedUpdate({update: update, queuedAt: nowTimestamp, status: Status.Pending});
        _latestUpdateId[update.asset] = id;
        emit Events.UpdateQueued(id, update.asset, update, nowTimestamp + executionDelay);
    }

    /// @inheritdoc IAaveRiskSteward
    function execute(uint256 id) external {
        QueuedUpdate storage queued = _queue[id];
        if (queued.status == Status.None) revert Errors.UnknownUpdate(id);
        if (queued.status != Status.Pending) revert Errors.UpdateNotPending(id);
        ParamUpdate memory update = queued.update;
        uint256 latest = _latestUpdateId[update.asset];
        if (latest != id) revert Errors.UpdateSuperseded(id, latest);
        uint40 executableAt = queued.queuedAt + executionDelay;
        if (block.timestamp < executableAt) revert Errors.UpdateNotReady(id, executableAt);
        bool[PARAM_COUNT] memory changes = _check(update);

        queued.status = Status.Executed;
        uint64 nowTimestamp = uint64(block.timestamp);
        for (uint8 p; p < PARAM_COUNT; ++p) {
            if (changes[p]) _lastUpdated[update.asset][p] = nowTimestamp;
        }
        emit Events.UpdateExecuted(id, update.asset, msg.sender);

        IPoolConfigurator configurator = IPoolConfigurator(poolConfigurator);
        if (changes[LTV] || changes[LIQUIDATION_THRESHOLD] || changes[LIQUIDATION_BONUS]) {
            configurator.configureReserveAsCollateral(
                update.asset, update.ltv, update.liquidationThreshold, update.liquidationBonus
            );
        }
        if (changes[SUPPLY_CAP]) configurator.setSupplyCap(update.asset, update.supplyCap);
        if (changes[BORROW_CAP]) configurator.setBorrowCap(update.asset, update.borrowCap);
    }

    /* -------------------------------------- views -------------------------------------- */

    /// @inheritdoc IAaveRiskSteward
    function bound(uint8 param) external view returns (Bound memory) {
        return _bounds[param];
    }

    /// @inheritdoc IAaveRiskSteward
    function lastUpdated(address asset, uint8 param) external view returns (uint64) {
        return _lastUpdated[asset][param];
    }

    /// @inheritdoc IAaveRiskSteward
    function queuedUpdate(uint256 id) external view returns (QueuedUpdate memory) {
        return _queue[id];
    }

    /// @inheritdoc IAaveRiskSteward
    function latestUpdateId(address asset) external view returns (uint256) {
        return _latestUpdateId[asset];
    }

    /// @inheritdoc IAaveRiskSteward
    function isRestricted(address asset) external view returns (bool) {
        return _restricted[asset];
    }

    /* ------------------------------------- internal ------------------------------------ */

    function _onlyGuardianOrOwner() internal view {
        if (msg.sender != owner && (msg.sender != guardian || msg.sender == address(0))) revert Errors.NotGuardian();
    }

    /// @dev Every check an update must pass, against Aave's values now; returns which parameters change.
    function _check(ParamUpdate memory update) internal view returns (bool[PARAM_COUNT] memory changes) {
        if (paused) revert Errors.StewardPaused();
        if (_restricted[update.asset]) revert Errors.AssetRestricted(update.asset);
        if (update.validUntil < block.timestamp) {
            // Casting is safe: block timestamps fit 64 bits.
            // forge-lint: disable-next-line(unsafe-typecast)
            revert Errors.UpdateExpired(update.validUntil, uint64(block.timestamp));
        }
        uint256[PARAM_COUNT] memory proposed = [
            uint256(update.ltv),
            update.liquidationThreshold,
            update.liquidationBonus,
            update.supplyCap,
            update.borrowCap
        ];
        for (uint8 p; p < PARAM_COUNT; ++p) {
            if (proposed[p] == 0) revert Errors.ZeroValue(p);
        }
        if (update.ltv >= update.liquidationThreshold) {
            revert Errors.LtvNotBelowLt(update.ltv, update.liquidationThreshold);
        }
        uint256[PARAM_COUNT] memory current = _current(update.asset);
        for (uint8 p; p < PARAM_COUNT; ++p) {
            if (p >= SUPPLY_CAP && proposed[p] == KEEP_CURRENT) continue;
            changes[p] = _checkParam(update.asset, p, current[p], proposed[p]);
        }
    }

    /// @dev Whether `param` moves from `current` to `proposed`; reverts if the move is too large or too soon.
    function _checkParam(address asset, uint8 param, uint256 current, uint256 proposed) internal view returns (bool) {
        if (proposed == current) return false;
        Bound memory b = _bounds[param];
        uint64 last = _lastUpdated[asset][param];
        if (last != 0 && block.timestamp < uint256(last) + b.minDelay) {
            revert Errors.DelayNotElapsed(param, last, b.minDelay);
        }
        bool relative = param >= SUPPLY_CAP;
        if (relative && current == 0) revert Errors.UnlimitedCap(param);
        bool up = proposed > current;
        uint256 delta = up ? proposed - current : current - proposed;
        uint256 limit = up ? b.maxIncrease : b.maxDecrease;
        // Relative limits round down: the bound is never exceeded.
        if (relative) limit = current * limit / BPS;
        if (delta > limit) revert Errors.BoundExceeded(param, current, proposed);
        return true;
    }

    /// @dev Aave's current LTV, LT, bonus, supply cap and borrow cap of `asset`.
    function _current(address asset) internal view returns (uint256[PARAM_COUNT] memory values) {
        IPoolDataProvider provider = IPoolDataProvider(poolDataProvider);
        (, values[LTV], values[LIQUIDATION_THRESHOLD], values[LIQUIDATION_BONUS],,,,,,) =
            provider.getReserveConfigurationData(asset);
        (values[BORROW_CAP], values[SUPPLY_CAP]) = provider.getReserveCaps(asset);
    }
}
