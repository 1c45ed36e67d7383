// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IReserveConfigurator} from "./interfaces/IReserveConfigurator.sol";
import {IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {Errors} from "./libraries/Errors.sol";
import {Events} from "./libraries/Events.sol";
import {RiskRule} from "./libraries/RiskRule.sol";

/// @title RiskOracle
/// @notice Applies proof-checked collateral parameters for one model: each update's scores must be the
///         public outputs of a proof the model's ezkl verifier accepts, and its parameters must be the
///         public `RiskRule` applied to those scores.
/// @dev Trust assumptions (read these before pointing a market at this oracle):
///      - Verifier: `verifier` is the ezkl `Halo2Verifier` generated for the committed model, and its
///        proving/verifying keys come from a structured reference string nobody can forge proofs
///        with. A locally generated SRS (`ezkl.gen_srs`) is NOT a trusted setup: whoever made it can
///        prove anything. Production deployments must use a ceremony SRS.
///      - Prover: untrusted for soundness (the SNARK is), trusted only for liveness.
///      - Keeper: trusted for (a) the private inputs (the proof shows the model ran, not that it ran
///        on the chain's real positions), (b) `dataTimestamp` (asserted, not proven), and (c) timing:
///        it chooses which valid update lands and when. A misbehaving keeper can therefore move the
///        parameters anywhere inside the rule's range: LTV in [50%, 80%], LT = LTV + 5%.
///      - Why a single keeper may submit: whoever can trigger a liquidation-threshold cut can
///        liquidate in the same transaction (submit the cut, then liquidate the positions that just
///        became unhealthy, atomically). Permissionless submission would give that option to anyone
///        holding any valid, fresh proof, and let them pick the block. One immutable keeper limits it
///        to one accountable operator, who should submit through a private mempool. It does not
///        remove it: later work routes updates through a risk steward with per-parameter bounds
///        (max move per update) and minimum delays, and binds the inputs to chain state.
///      - Governance: there is none. Every setting is immutable and there is no owner, pause or
///        upgrade; changing the model, keeper or configurator means deploying a new oracle and
///        pointing the configurator's risk admin at it.
contract RiskOracle is IRiskOracle {
    /// @notice The largest output scale accepted; keeps `batchSize << outputScaleBits` tiny.
    uint8 public constant MAX_OUTPUT_SCALE_BITS = 64;

    /// @inheritdoc IRiskOracle
    address public immutable verifier;
    /// @inheritdoc IRiskOracle
    address public immutable configurator;
    /// @inheritdoc IRiskOracle
    address public immutable keeper;
    /// @inheritdoc IRiskOracle
    uint8 public immutable outputScaleBits;
    /// @inheritdoc IRiskOracle
    uint16 public immutable batchSize;
    /// @inheritdoc IRiskOracle
    uint64 public immutable maxDataAge;

    mapping(address asset => MarketState) internal _marketStates;

    /// @param verifier_ The ezkl `Halo2Verifier` of the model (not checked for code here: a verifier
    ///        without code makes every `submit` fail with `InvalidProof`).
    /// @param configurator_ The target of `configureReserveAsCollateral`; this oracle must be its
    ///        risk admin.
    /// @param keeper_ The only address allowed to submit.
    /// @param outputScaleBits_ The model's output scale (ezkl `model_output_scales`), at most 64.
    /// @param batchSize_ The number of scores per proof (the circuit's public outputs), above 0.
    /// @param maxDataAge_ The oldest data, in seconds, an update may be computed from.
    constructor(
        address verifier_,
        address configurator_,
        address keeper_,
        uint8 outputScaleBits_,
        uint16 batchSize_,
        uint64 maxDataAge_
    ) {
        if (verifier_ == address(0) || configurator_ == address(0) || keeper_ == address(0)) {
            revert Errors.ZeroAddress();
        }
        if (outputScaleBits_ > MAX_OUTPUT_SCALE_BITS) revert Errors.OutputScaleTooLarge(outputScaleBits_);
        if (batchSize_ == 0) revert Errors.ZeroBatchSize();
        verifier = verifier_;
        configurator = configurator_;
        keeper = keeper_;
        outputScaleBits = outputScaleBits_;
        batchSize = batchSize_;
        maxDataAge = maxDataAge_;
    }

    /// @inheritdoc IRiskOracle
    function submit(Update calldata update, bytes calldata proof) external {
        if (msg.sender != keeper) revert Errors.NotKeeper();

        uint256 sum = _checkedScoreSum(update.scores);
        _checkEpochAndAge(update);
        MarketState memory next = _applyRule(update, sum);

        // The scores are the verifier's public instances: the outputs the proof attests to are the
        // update's scores by construction.
        _verifyProof(proof, update.scores);

        next.proofHash = keccak256(proof);
        next.publisher = msg.sender;
        _marketStates[update.asset] = next;

        emit Events.UpdateApplied(
            update.asset,
            next.epoch,
            next.ltv,
            next.liquidationThreshold,
            next.liquidationBonus,
            next.riskBps,
            next.proofHash,
            msg.sender
        );

        IReserveConfigurator(configurator)
            .configureReserveAsCollateral(update.asset, next.ltv, next.liquidationThreshold, next.liquidationBonus);
    }

    /// @inheritdoc IRiskOracle
    function marketState(address asset) external view returns (MarketState memory) {
        return _marketStates[asset];
    }

    /// @dev Checks the batch size and that every score is at most 2^outputScaleBits, and returns the
    ///      scores' sum. Each score is at most 2^64 and there are at most 2^16 of them, so the sum
    ///      cannot overflow.
    function _checkedScoreSum(uint256[] calldata scores) internal view returns (uint256 sum) {
        uint256 n = scores.length;
        if (n != batchSize) revert Errors.BatchSizeMismatch(n, batchSize);
        uint256 one = uint256(1) << outputScaleBits;
        for (uint256 i; i < n;) {
            uint256 score = scores[i];
            if (score > one) revert Errors.ScoreOutOfRange(i, score);
            unchecked {
                sum += score;
                ++i;
            }
        }
    }

    /// @dev The epoch must move forward for the asset, and the data must be neither from the future
    ///      nor older than `maxDataAge`.
    function _checkEpochAndAge(Update calldata update) internal view {
        uint64 lastEpoch = _marketStates[update.asset].epoch;
        if (update.epoch <= lastEpoch) revert Errors.StaleEpoch(update.epoch, lastEpoch);

        uint64 nowTimestamp = uint64(block.timestamp);
        if (update.dataTimestamp > nowTimestamp) revert Errors.FutureData(update.dataTimestamp, nowTimestamp);
        if (nowTimestamp - update.dataTimestamp > maxDataAge) {
            revert Errors.StaleData(update.dataTimestamp, nowTimestamp);
        }
    }

    /// @dev Recomputes the parameters with `RiskRule`, requires the update to carry exactly them, and
    ///      returns the state to store (without the proof hash and publisher).
    function _applyRule(Update calldata update, uint256 sum) internal view returns (MarketState memory next) {
        (next.ltv, next.liquidationThreshold, next.liquidationBonus, next.riskBps) =
            RiskRule.paramsFromSum(sum, update.scores.length, outputScaleBits);
        if (
            next.ltv != update.ltv || next.liquidationThreshold != update.liquidationThreshold
                || next.liquidationBonus != update.liquidationBonus
        ) revert Errors.ParamsMismatch(update.ltv, update.liquidationThreshold, update.liquidationBonus);
        next.epoch = update.epoch;
        next.dataTimestamp = update.dataTimestamp;
        next.updatedAt = uint64(block.timestamp);
    }

    /// @dev Accepts only a call that succeeds and returns exactly the ABI encoding of `true`. A
    ///      revert, `false`, short or odd return data, and an address without code (its call
    ///      succeeds with no data) all give `InvalidProof`. The call is static: verification must
    ///      not change state, and the verifier cannot call back into a state-changing function.
    function _verifyProof(bytes calldata proof, uint256[] calldata scores) internal view {
        (bool success, bytes memory result) =
            verifier.staticcall(abi.encodeCall(IHalo2Verifier.verifyProof, (proof, scores)));
        if (!success || result.length != 32 || abi.decode(result, (uint256)) != 1) revert Errors.InvalidProof();
    }
}
