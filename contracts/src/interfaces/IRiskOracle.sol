// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IRiskOracle
/// @notice A feed of proof-checked risk scores and collateral parameters, one state per market (an
///         Aave reserve, named by its underlying asset). Registered keepers submit, once per epoch, the
///         scores an ezkl-proven model computed for a batch of positions together with the parameters
///         the public `RiskRule` derives from them; the oracle checks the update against the proof, the
///         model registry, the market's freshness and price-binding rules, stores it and queues the
///         parameters in the `AaveRiskSteward`, which applies them to Aave within its bounds.
/// @dev What a verified update proves, and what it does not:
///      - Proven (SNARK): the scores are the outputs of the registered model (its weights are fixed in the
///        verifier's verifying key) on SOME inputs of the batch's shape (the epoch circuits commit to
///        them in the proof, so inputs published beside it can be checked off-chain); with a model whose
///        layout is `PriceThenScores` or `PriceThenLogits`, also that the circuit's price input is the
///        collateral price the update claims (public instance 0): the price-bound epoch circuit computes its
///        price-dependent features from it as `fixed + slope * price`, the fixed parts and slopes being
///        committed inputs like the rest.
///      - Checked on-chain: the scores are probabilities (or, for a `Logits` model, logits the oracle turns
///        into probabilities with `Logistic.probabilityUp`) and are the proof's public instances (so they
///        cannot differ); the LTV, LT and bonus are `RiskRule`'s output for the probabilities; the epoch moves
///        forward; the data time and block are not in the future and not older than the market's
///        `maxDataAge`; the model is registered, active and the one the market pins; the claimed
///        collateral price is within `priceToleranceBps` of the market's Chainlink-style aggregator
///        at submission (input binding).
///      - NOT proven: that the committed per-account inputs are the chain's real positions at `dataBlock`
///        (reading 64 positions on-chain at submission would cost more than the proof). They are
///        committed in the proof and published beside it, so anyone can check them against the chain
///        afterwards; until then the keeper is trusted for them, and the steward's bounds cap what a wrong
///        input can do. The price, which moves between blocks, is the input a `PriceThen*` model binds.
///      - Not proven either: the supply and borrow caps an update carries. They are keeper-chosen and
///        bounded by the steward only (relative bounds per delay window); `KEEP_CURRENT` leaves them.
interface IRiskOracle {
    /// @notice How a model's public instances are laid out.
    /// @dev `ScoresOnly`: instances = scores, probabilities the circuit computed (sigmoid inside).
    ///      `PriceThenScores`: instance 0 is the collateral price the circuit's inputs were computed at,
    ///      then the scores. `Logits`: instances = the model's logits as field elements (negative z as
    ///      r - |z|) with `outputScaleBits` fractional bits; the oracle applies the logistic link itself
    ///      (`Logistic.probabilityUp`, rounded up) and the rule to those probabilities. A logit circuit
    ///      has no lookup table: it proves about 100x faster with a proving key about 300x smaller.
    ///      `PackedLogits`: each instance packs three logits (`Logistic.packedProbabilitySumUp`), so a
    ///      batch of `batchSize` scores has `batchSize / 3` instances, a third of the instance gas.
    ///      `PriceThenLogits`: instance 0 is the collateral price, then logits as for `Logits` (the
    ///      price-bound epoch circuit: its price-dependent features are computed in the circuit from
    ///      its price input, which instance 0 fixes, so the proof holds only for the price the update
    ///      claims; that price must lie on the model's `priceShiftBits` grid).
    ///      The oracle builds the instances from the update, so one `submit` serves every layout.
    enum InstanceLayout {
        ScoresOnly,
        PriceThenScores,
        Logits,
        PackedLogits,
        PriceThenLogits
    }

    /// @notice A registered model.
    /// @param verifier The ezkl `Halo2Verifier` of the model (verifying key in its bytecode).
    /// @param featureSchemaHash keccak256 of the model's feature schema (names, order, units, preprocessing).
    /// @param outputScaleBits The model's output scale: a score of 2^outputScaleBits means probability 1
    ///        (`Logits` and `PriceThenLogits` layouts: the logits' fractional bits).
    /// @param batchSize The number of scores per proof (for `PackedLogits`, three per instance).
    /// @param horizon The scores' horizon in seconds (e.g. 7 days for a 7-day liquidation probability).
    /// @param layout How the verifier's public instances are laid out.
    /// @param priceShiftBits For `PriceThenScores` and `PriceThenLogits`: the circuit's price input is the
    ///        aggregator's answer shifted right by this many bits and instance 0 is that input times
    ///        2^priceShiftBits, so the claimed price must have these low bits clear (otherwise the only
    ///        price input that matches it is a huge field element, not a price). 0 for the other layouts.
    /// @param active True from registration until retirement (retirement is final).
    struct Model {
        address verifier;
        bytes32 featureSchemaHash;
        uint8 outputScaleBits;
        uint16 batchSize;
        uint32 horizon;
        InstanceLayout layout;
        uint8 priceShiftBits;
        bool active;
    }

    /// @notice A market's feed rules.
    /// @param modelId The model whose proofs the market accepts.
    /// @param maxDataAge The oldest data, in seconds before the block, an update may be computed from.
    /// @param priceSource A Chainlink-style aggregator (`latestRoundData`) of the collateral's price: the
    ///        one Aave's oracle reads for the reserve.
    /// @param priceToleranceBps How far, in bps of the on-chain price, the update's claimed price may be.
    struct MarketConfig {
        uint32 modelId;
        uint64 maxDataAge;
        address priceSource;
        uint16 priceToleranceBps;
    }

    /// @notice The parameters an update proposes.
    /// @param ltv Loan-to-value, bps; must equal `RiskRule.params(scores)`.
    /// @param liquidationThreshold Liquidation threshold, bps; must equal the rule's.
    /// @param liquidationBonus Liquidation bonus, bps; must equal the rule's.
    /// @param supplyCap Aave supply cap in whole tokens or the steward's `KEEP_CURRENT` (not proven).
    /// @param borrowCap Aave borrow cap in whole tokens or `KEEP_CURRENT` (not proven).
    struct Params {
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        uint64 supplyCap;
        uint64 borrowCap;
    }

    /// @notice One update of one market, as a keeper submits it.
    /// @param market The reserve (underlying asset) whose parameters move.
    /// @param modelId The model that produced the scores.
    /// @param epoch Strictly increasing per market; the first accepted epoch must be above 0.
    /// @param dataTimestamp Unix time of the data the scores were computed from.
    /// @param dataBlock Block number of that data.
    /// @param validUntil The last second at which the update may be accepted (and executed by the steward).
    /// @param collateralPrice The collateral price the inputs were computed at, in the price source's units.
    /// @param scores The proof's outputs, in order: round(p * 2^outputScaleBits), p in [0, 1]; for a
    ///        `Logits` model, round(z * 2^outputScaleBits) as field elements.
    /// @param params The proposed parameters.
    struct Update {
        address market;
        uint32 modelId;
        uint64 epoch;
        uint64 dataTimestamp;
        uint64 dataBlock;
        uint40 validUntil;
        uint256 collateralPrice;
        uint256[] scores;
        Params params;
    }

    /// @notice The last accepted update of a market (all zero before the first).
    /// @param epoch The epoch of the last accepted update.
    /// @param dataTimestamp The data time it claimed.
    /// @param dataBlock The data block it claimed.
    /// @param updatedAt The block timestamp at which it was accepted.
    /// @param modelId The model that produced it.
    /// @param riskBps The batch's mean probability, in bps, rounded up.
    /// @param params The parameters it proposed (queued in the steward unless it refused them).
    /// @param collateralPrice The claimed collateral price (checked against the aggregator).
    /// @param scoresHash keccak256(abi.encodePacked(scores)); the scores themselves are in the event
    ///        (for a `Logits` model, the proven logits).
    /// @param proofHash keccak256 of the proof bytes.
    /// @param publisher The keeper that submitted it.
    /// @param stewardUpdateId The id of the update queued in the steward; 0 when the steward refused it
    ///        (`StewardRefused` carries the reason).
    struct MarketState {
        uint64 epoch;
        uint64 dataTimestamp;
        uint64 dataBlock;
        uint64 updatedAt;
        uint32 modelId;
        uint16 riskBps;
        Params params;
        uint256 collateralPrice;
        bytes32 scoresHash;
        bytes32 proofHash;
        address publisher;
        uint256 stewardUpdateId;
    }

    /// @notice Verifies and records one update, then queues its parameters in the steward.
    /// @dev Who may submit: registered keepers only. Whoever can trigger a liquidation-threshold cut can
    ///      liquidate in the same transaction; permissionless submission would hand the choice of which
    ///      valid, fresh proof lands and when to anyone. With registered keepers that choice stays with
    ///      accountable operators, and `submit` itself moves nothing in Aave: it only queues in the
    ///      steward, where the change is public for `executionDelay`, bounded (e.g. 50 bps per 3 days)
    ///      and can be disabled by the guardian.
    ///
    ///      Checks, in this order (the first failure reverts): caller is a keeper (`NotKeeper`); market
    ///      configured (`MarketNotConfigured`); model is the market's (`WrongModel`) and active
    ///      (`ModelNotActive`); `validUntil >= block.timestamp` (`UpdateExpired`); scores count equals
    ///      the model's batch (`BatchSizeMismatch`) and each is at most 2^outputScaleBits
    ///      (`ScoreOutOfRange`), or for a `Logits` model a field element (`NotAFieldElement`), or for a
    ///      `PackedLogits` model three signed 50-bit slots and nothing above them (`MalformedPackedLogits`);
    ///      epoch above the market's last (`StaleEpoch`) by at most `MAX_EPOCH_STEP` (`EpochJump`); data time and block not in the future
    ///      (`FutureData`) and not older than `maxDataAge` (`StaleData`); for a price layout, the claimed
    ///      price's low `priceShiftBits` bits clear (`PriceOffGrid`); claimed price within tolerance of
    ///      the aggregator (`InvalidOnChainPrice`, `PriceMismatch`); LTV/LT/bonus
    ///      equal `RiskRule`'s (`ParamsMismatch`); the verifier accepts the proof with the instances
    ///      built from the update (`InvalidProof`). Then it calls the steward's `queue`, stores the state
    ///      and emits `UpdateAccepted`. If the steward refuses (bounds, delay, pause, restriction), the
    ///      update is still recorded, with `stewardUpdateId` 0, and `StewardRefused` carries the reason:
    ///      the feed keeps reporting the proven risk while Aave moves only as far as the steward allows.
    ///      A refused update's caps are the keeper's claim, unchecked by any bound; its LTV, LT, bonus
    ///      and risk are the rule's, from the proof.
    /// @param update The update; see `Update`.
    /// @param proof The ezkl proof bytes (`hex_proof` of proof.json).
    function submit(Update calldata update, bytes calldata proof) external;

    /// @notice The last accepted update of `market`; all fields zero if none was accepted.
    function marketState(address market) external view returns (MarketState memory);

    /// @notice The epoch and mean risk of `market`'s last accepted update (0, 0 if none): the two fields
    ///         of `marketState` a cap needs, read from one storage slot each instead of the whole state.
    function riskOf(address market) external view returns (uint64 epoch, uint16 riskBps);

    /// @notice Registered model `modelId` (all zero if none).
    function model(uint32 modelId) external view returns (Model memory);

    /// @notice The feed rules of `market` (all zero if not configured).
    function marketConfig(address market) external view returns (MarketConfig memory);

    /// @notice Whether `account` may submit.
    function isKeeper(address account) external view returns (bool);

    /// @notice The steward that receives every accepted update.
    function steward() external view returns (address);

    /// @notice Seconds between scheduling a registry or market change and executing it.
    function timelockDelay() external view returns (uint64);

    /// @notice When a scheduled operation becomes executable (0 if not scheduled).
    function readyAt(bytes32 operationId) external view returns (uint64);
}
