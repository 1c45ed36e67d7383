// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IRiskOracle
/// @notice A feed of proof-checked collateral parameters. For each reserve (`asset`) the keeper
///         submits, once per epoch, the liquidation probabilities that an ezkl-proven model computed
///         for a batch of positions, together with the parameters the public `RiskRule` derives from
///         them. The oracle checks the batch, the epoch, the data's age, the rule and the proof, stores
///         the result and pushes the parameters to a configurator with Aave v3's
///         `configureReserveAsCollateral` signature.
/// @dev What a verified update proves, and what it does not:
///      - Proven: the scores are the outputs of the committed model (weights fixed in the circuit,
///        i.e. in the verifier's verifying key) on SOME private inputs of the batch's shape.
///      - Checked on-chain: the scores are probabilities, the parameters are `RiskRule`'s output for
///        those very scores (the scores are the verifier's public instances, so they cannot differ),
///        the epoch moves forward and the claimed data time is recent.
///      - NOT proven: that the private inputs are the chain's real positions at `dataTimestamp`, nor
///        that `dataTimestamp` is true. Both are trusted to the keeper until input binding lands.
interface IRiskOracle {
    /// @notice One parameter update for one reserve, as the keeper submits it.
    /// @param asset The reserve whose parameters move.
    /// @param epoch Strictly increasing per asset; the first accepted epoch must be above 0.
    /// @param dataTimestamp Unix time of the data the scores were computed from.
    /// @param scores The proof's public outputs, in order: round(p * 2^outputScaleBits), p in [0, 1].
    /// @param ltv Loan-to-value in bps; must equal `RiskRule.params(scores)`.
    /// @param liquidationThreshold Liquidation threshold in bps; must equal the rule's.
    /// @param liquidationBonus Liquidation bonus in bps; must equal the rule's.
    struct Update {
        address asset;
        uint64 epoch;
        uint64 dataTimestamp;
        uint256[] scores;
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
    }

    /// @notice The last applied update of a reserve (all zero before the first).
    /// @param epoch The epoch of the last applied update.
    /// @param dataTimestamp The data time it claimed.
    /// @param updatedAt The block timestamp at which it was applied.
    /// @param ltv The loan-to-value it set, in bps.
    /// @param liquidationThreshold The liquidation threshold it set, in bps.
    /// @param liquidationBonus The liquidation bonus it set, in bps.
    /// @param riskBps The batch's mean probability, in bps, rounded up.
    /// @param proofHash keccak256 of the proof bytes.
    /// @param publisher The keeper that submitted it.
    struct MarketState {
        uint64 epoch;
        uint64 dataTimestamp;
        uint64 updatedAt;
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint16 riskBps;
        bytes32 proofHash;
        address publisher;
    }

    /// @notice Verifies and applies one update, then forwards its parameters to the configurator.
    /// @dev Checks, in this order (the first failure reverts): the caller is the keeper
    ///      (`NotKeeper`); `scores.length == batchSize` (`BatchSizeMismatch`); every score is at most
    ///      2^outputScaleBits (`ScoreOutOfRange`); `epoch` is above the asset's last epoch
    ///      (`StaleEpoch`); `dataTimestamp <= block.timestamp` (`FutureData`) and
    ///      `block.timestamp - dataTimestamp <= maxDataAge` (`StaleData`); the parameters equal
    ///      `RiskRule`'s (`ParamsMismatch`); the verifier accepts `proof` with `scores` as its public
    ///      instances (`InvalidProof`). Then it stores the `MarketState`, emits `UpdateApplied` and
    ///      calls `configureReserveAsCollateral`; a revert there reverts the whole update.
    /// @param update The update; see `Update`.
    /// @param proof The ezkl proof bytes (`hex_proof` of proof.json).
    function submit(Update calldata update, bytes calldata proof) external;

    /// @notice The last applied update of `asset`; all fields zero if none was applied.
    function marketState(address asset) external view returns (MarketState memory);

    /// @notice The ezkl `Halo2Verifier` of the model whose outputs this oracle accepts.
    function verifier() external view returns (address);

    /// @notice The contract receiving `configureReserveAsCollateral` (Aave v3's signature).
    function configurator() external view returns (address);

    /// @notice The only address allowed to call `submit`.
    function keeper() external view returns (address);

    /// @notice The model's output scale: a score of 2^outputScaleBits means probability 1.
    function outputScaleBits() external view returns (uint8);

    /// @notice The number of scores per update (the circuit's number of public outputs).
    function batchSize() external view returns (uint16);

    /// @notice The oldest data, in seconds before the block, an update may be computed from.
    function maxDataAge() external view returns (uint64);
}
