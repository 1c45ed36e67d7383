// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Errors
/// @notice Every custom error zkrisk's contracts revert with (Solady style: cheap, typed, and
///         tested by selector). The keeper decodes them by these exact signatures.
library Errors {
    /* ------------------------------------- shared ------------------------------------- */

    /// @notice A required address is zero.
    error ZeroAddress();

    /// @notice The caller is not the owner (governance).
    error NotOwner();

    /// @notice The update's `validUntil` is in the past: it expired before it was submitted or executed.
    error UpdateExpired(uint64 validUntil, uint64 nowTimestamp);

    /* ----------------------------------- RiskOracle ----------------------------------- */

    /// @notice The caller of `RiskOracle.submit` is not a registered keeper.
    error NotKeeper();

    /// @notice The market has no configuration (governance never set it).
    error MarketNotConfigured(address market);

    /// @notice The update names a model that is not registered, or that was retired.
    error ModelNotActive(uint32 modelId);

    /// @notice The update names a model other than the one the market's configuration pins.
    error WrongModel(uint32 modelId, uint32 expected);

    /// @notice A model id is registered already (ids are never reused: nothing changes a verifier in place).
    error ModelAlreadyRegistered(uint32 modelId);

    /// @notice A model's description is unusable (zero id, zero verifier, zero batch, or scale too large).
    error InvalidModel(uint32 modelId);

    /// @notice A market's configuration is unusable (zero price source, zero data age or tolerance too large).
    error InvalidMarketConfig(address market);

    /// @notice The governance operation was never scheduled (or was cancelled or executed).
    error OperationNotScheduled(bytes32 operationId);

    /// @notice The governance operation is scheduled already.
    error OperationAlreadyScheduled(bytes32 operationId);

    /// @notice The governance operation's timelock has not elapsed.
    error OperationNotReady(bytes32 operationId, uint64 readyAt);

    /// @notice The update carries `got` scores; the model's circuit has `expected` outputs.
    error BatchSizeMismatch(uint256 got, uint256 expected);

    /// @notice Score `index` is above 2^outputScaleBits, i.e. not a probability in [0, 1].
    error ScoreOutOfRange(uint256 index, uint256 score);

    /// @notice The update's epoch is not above the last applied epoch of its market (0 if none).
    error StaleEpoch(uint64 epoch, uint64 lastEpoch);

    /// @notice The update's epoch is more than `MAX_EPOCH_STEP` above the market's last: a jump to near
    ///         2^64 would leave no newer epoch and freeze the market for good.
    error EpochJump(uint64 epoch, uint64 lastEpoch);

    /// @notice The scores were computed from data older than the market's `maxDataAge`.
    error StaleData(uint64 dataTimestamp, uint64 nowTimestamp);

    /// @notice The update claims data from after the current block (its timestamp or its block number).
    error FutureData(uint64 dataTimestamp, uint64 nowTimestamp);

    /// @notice The collateral price the update claims is further than the market's tolerance from the
    ///         price the chain's aggregator reports now.
    error PriceMismatch(uint256 claimed, uint256 onChain);

    /// @notice A price-bound model's update claims a price with some of its low `shiftBits` bits set: no price
    ///         input of the circuit gives that instance.
    error PriceOffGrid(uint256 claimed, uint8 shiftBits);

    /// @notice The market's price source answered a non-positive price.
    error InvalidOnChainPrice(int256 answer);

    /// @notice The verifier rejected the proof (a revert, a `false`, or no code at its address).
    error InvalidProof();

    /// @notice The update's LTV, LT or bonus is not `RiskRule.params(scores)`; carries the update's values.
    error ParamsMismatch(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus);

    /// @notice An output scale above the largest supported one.
    error OutputScaleTooLarge(uint8 outputScaleBits);

    /// @notice A proven logit that is not a BN254 scalar-field element (`Logits` layout).
    error NotAFieldElement(uint256 value);

    /// @notice A `PackedLogits` instance that does not decompose into three 50-bit signed slots.
    error MalformedPackedLogits(uint256 instance);

    /* ------------------------------------ RiskRule ------------------------------------ */

    /// @notice `RiskRule.params` was given no scores.
    error EmptyScores();

    /* --------------------------------- AaveRiskSteward --------------------------------- */

    /// @notice The caller is not the RiskOracle (or the oracle has not been named yet).
    error NotRiskOracle();

    /// @notice The caller is neither the guardian nor the owner.
    error NotGuardian();

    /// @notice `setRiskOracle` was already called.
    error OracleAlreadySet();

    /// @notice The steward is paused by the guardian or the owner.
    error StewardPaused();

    /// @notice The asset is restricted by the owner: the steward moves none of its parameters.
    error AssetRestricted(address asset);

    /// @notice A proposed value is zero (use `KEEP_CURRENT` to leave a cap unchanged).
    error ZeroValue(uint8 param);

    /// @notice The proposed LTV is not strictly below the liquidation threshold.
    error LtvNotBelowLt(uint256 ltv, uint256 liquidationThreshold);

    /// @notice The move of parameter `param` from `current` to `proposed` exceeds its bound.
    error BoundExceeded(uint8 param, uint256 current, uint256 proposed);

    /// @notice Parameter `param` changed at `lastUpdated`; its minimum delay has not elapsed.
    error DelayNotElapsed(uint8 param, uint64 lastUpdated, uint64 minDelay);

    /// @notice A cap of zero means "unlimited" in Aave: relative bounds cannot be applied to it.
    error UnlimitedCap(uint8 param);

    /// @notice The queued update does not exist.
    error UnknownUpdate(uint256 id);

    /// @notice The queued update was executed or disabled already.
    error UpdateNotPending(uint256 id);

    /// @notice A newer update was queued for the same asset; only the newest may execute.
    error UpdateSuperseded(uint256 id, uint256 latest);

    /// @notice The queued update's execution delay has not elapsed.
    error UpdateNotReady(uint256 id, uint64 executableAt);

    /// @notice A bound configuration is unusable (decrease of 100 % or more for bps parameters, or no delay).
    error InvalidBounds(uint8 param);

    /* -------------------------------- RiskCappedVault -------------------------------- */

    /// @notice The vault has this many markets already.
    error TooManyMarkets();

    /// @notice The market (Aave pool) is listed already.
    error MarketAlreadyListed(address pool);

    /// @notice The market index does not exist.
    error UnknownMarket(uint256 index);

    /// @notice The Aave pool has no reserve for the vault's asset.
    error ReserveNotListed(address pool, address asset);

    /// @notice No cap raise is pending for the market.
    error NoPendingCap(uint256 index);

    /// @notice The pending cap raise's timelock has not elapsed.
    error CapTimelockNotElapsed(uint256 index, uint64 validAt);

    /// @notice The markets cannot pay out `requested`; only `available` can leave now.
    error InsufficientLiquidity(uint256 requested, uint256 available);
}
