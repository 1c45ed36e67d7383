// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Errors
/// @notice Every custom error zkrisk's contracts revert with (Solady style: cheap, typed, and
///         tested by selector). The keeper decodes them by these exact signatures.
library Errors {
    /* ----------------------------------- RiskOracle ----------------------------------- */

    /// @notice The caller of `RiskOracle.submit` is not the keeper.
    error NotKeeper();

    /// @notice The update carries `got` scores; the verifier's circuit has `expected` outputs.
    error BatchSizeMismatch(uint256 got, uint256 expected);

    /// @notice Score `index` is above 2^outputScaleBits, i.e. not a probability in [0, 1].
    error ScoreOutOfRange(uint256 index, uint256 score);

    /// @notice The update's epoch is not above the last applied epoch of its asset (0 if none).
    error StaleEpoch(uint64 epoch, uint64 lastEpoch);

    /// @notice The scores were computed from data older than `maxDataAge`.
    error StaleData(uint64 dataTimestamp, uint64 nowTimestamp);

    /// @notice The update claims data from after the current block.
    error FutureData(uint64 dataTimestamp, uint64 nowTimestamp);

    /// @notice The verifier rejected the proof (a revert, a `false`, or no code at its address).
    error InvalidProof();

    /// @notice The update's parameters are not `RiskRule.params(scores)`; carries the update's values.
    error ParamsMismatch(uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus);

    /// @notice A required address is zero.
    error ZeroAddress();

    /// @notice The oracle was deployed with a batch size of zero.
    error ZeroBatchSize();

    /// @notice The oracle was deployed with an output scale above `RiskRule.MAX_OUTPUT_SCALE_BITS`.
    error OutputScaleTooLarge(uint8 outputScaleBits);

    /* ------------------------------------ RiskRule ------------------------------------ */

    /// @notice `RiskRule.params` was given no scores.
    error EmptyScores();

    /* ------------------------------- ReserveConfigurator ------------------------------- */

    /// @notice The caller may not configure reserves (it is not the risk admin).
    error NotRiskAdmin();

    /// @notice The asset has not been initialised by the owner.
    error ReserveNotInitialized(address asset);

    /// @notice The asset was initialised already.
    error ReserveAlreadyInitialized(address asset);

    /// @notice The configuration fails Aave v3's validation (Aave's INVALID_RESERVE_PARAMS).
    error InvalidReserveParams(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus);
}
