// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IRiskOracle} from "../interfaces/IRiskOracle.sol";

/// @title RiskFeedConsumer
/// @notice An example of a lending market reading zkrisk's feed from its own contracts: it takes the
///         collateral's loan-to-value and liquidation threshold from `RiskOracle.marketState`, and refuses
///         to price a position on data it should not trust: no accepted update yet, data older than
///         `maxStaleness`, a model other than the one it pinned, or a batch whose mean liquidation
///         probability is above `maxRiskBps` (a circuit breaker for new borrows).
/// @dev Every number read here was checked by the oracle at submission: the proof verified, the
///      parameters are `RiskRule`'s for the proven scores, the data was fresh then. What the oracle cannot
///      check is how old the data is when a consumer reads it: the oracle keeps the last accepted update
///      until a newer one arrives, so if keepers stop, the state ages. The consumer decides how old is too
///      old, from `dataTimestamp` (when the data was read from the chain), not `updatedAt` (when it was
///      submitted): an update accepted now can carry data up to the market's `maxDataAge` old.
///      The parameters are the proven ones as the oracle accepted them. For Aave they also wait in the
///      steward (its delay, the guardian's veto) before they apply; a consumer that wants that delay
///      reads the steward's queue instead. A retired model's last update is refused too.
///      Immutable by design: a consumer that wants other limits deploys another one.
contract RiskFeedConsumer {
    /// @notice The feed.
    IRiskOracle public immutable oracle;
    /// @notice The oracle's market key: the collateral asset.
    address public immutable market;
    /// @notice The model whose updates this consumer accepts.
    uint32 public immutable modelId;
    /// @notice The oldest data, in seconds, the consumer prices a position on.
    uint64 public immutable maxStaleness;
    /// @notice Above this mean liquidation probability (bps), no new borrow.
    uint16 public immutable maxRiskBps;

    /// @notice The feed has no accepted update of `market` yet.
    error NoRiskData(address market);
    /// @notice The last update's data is older than `maxStaleness` allows.
    error StaleRiskData(uint64 dataTimestamp, uint64 maxStaleness, uint64 nowTimestamp);
    /// @notice The last update comes from another model than the pinned one.
    error UnexpectedModel(uint32 modelId, uint32 expected);
    /// @notice The pinned model was retired from the oracle's registry.
    error ModelRetired(uint32 modelId);
    /// @notice The batch's mean liquidation probability is above the circuit breaker.
    error RiskTooHigh(uint16 riskBps, uint16 maxRiskBps);
    /// @notice A constructor argument is zero.
    error InvalidConfig();

    /// @param oracle_ The `RiskOracle`.
    /// @param market_ The collateral asset (the oracle's market key).
    /// @param modelId_ The model to accept.
    /// @param maxStaleness_ The oldest data, in seconds, to accept.
    /// @param maxRiskBps_ The mean risk above which new borrows stop, in bps (1..10_000).
    constructor(IRiskOracle oracle_, address market_, uint32 modelId_, uint64 maxStaleness_, uint16 maxRiskBps_) {
        if (
            address(oracle_) == address(0) || market_ == address(0) || maxStaleness_ == 0 || maxRiskBps_ == 0
                || maxRiskBps_ > 10_000
        ) revert InvalidConfig();
        oracle = oracle_;
        market = market_;
        modelId = modelId_;
        maxStaleness = maxStaleness_;
        maxRiskBps = maxRiskBps_;
    }

    /// @notice The market's last accepted update, if it may be used now.
    /// @dev Reverts `NoRiskData`, `UnexpectedModel`, `ModelRetired` or `StaleRiskData`.
    function freshState() public view returns (IRiskOracle.MarketState memory s) {
        s = oracle.marketState(market);
        if (s.epoch == 0) revert NoRiskData(market);
        if (s.modelId != modelId) revert UnexpectedModel(s.modelId, modelId);
        if (!oracle.model(modelId).active) revert ModelRetired(modelId);
        uint64 nowTimestamp = uint64(block.timestamp);
        // `dataTimestamp` is never in the future: the oracle refuses such updates (`FutureData`).
        if (nowTimestamp - s.dataTimestamp > maxStaleness) {
            revert StaleRiskData(s.dataTimestamp, maxStaleness, nowTimestamp);
        }
    }

    /// @notice How much may be borrowed against `collateralValue` (any unit; the result is in the same
    ///         unit): `collateralValue * ltv / 10_000`, rounded down.
    /// @dev Reverts like `freshState`, and `RiskTooHigh` above the circuit breaker.
    function borrowLimit(uint256 collateralValue) external view returns (uint256) {
        IRiskOracle.MarketState memory s = freshState();
        if (s.riskBps > maxRiskBps) revert RiskTooHigh(s.riskBps, maxRiskBps);
        return Math.mulDiv(collateralValue, s.params.ltv, 10_000);
    }

    /// @notice Whether a position of `collateralValue` and `debtValue` (same unit) may be liquidated: its
    ///         debt is above `collateralValue * liquidationThreshold / 10_000`.
    /// @dev Reverts like `freshState`. The circuit breaker does not apply: liquidations must go on when
    ///      risk is high.
    function isLiquidatable(uint256 collateralValue, uint256 debtValue) external view returns (bool) {
        IRiskOracle.MarketState memory s = freshState();
        // debt * 10_000 > collateral * lt exactly when debt > floor(collateral * lt / 10_000), and
        // mulDiv computes that floor without overflow.
        return debtValue > Math.mulDiv(collateralValue, s.params.liquidationThreshold, 10_000);
    }
}
