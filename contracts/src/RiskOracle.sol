// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IAaveRiskSteward} from "./interfaces/IAaveRiskSteward.sol";
import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {Errors} from "./libraries/Errors.sol";
import {Events} from "./libraries/Events.sol";
import {Logistic} from "./libraries/Logistic.sol";
import {RiskRule} from "./libraries/RiskRule.sol";

/// @notice The part of Chainlink's `AggregatorV3Interface` the oracle reads.
interface IAggregatorV3 {
    /// @notice The latest round: its answer is the price in the aggregator's decimals.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

/// @title RiskOracle
/// @notice Accepts proof-checked risk updates for registered markets and queues their parameters in the
///         `AaveRiskSteward`. Models live in a registry whose changes go through a timelock.
/// @dev Roles.
///      - Owner (governance; two-step transfer): schedules model registration and retirement and market
///        configuration (each executes only after `timelockDelay`, and anyone may execute it then),
///        cancels scheduled operations, adds and removes keepers (at once: removing a compromised keeper
///        must not wait). It cannot change a registered model's verifier (ids are never reused; a new
///        verifier is a new model), re-activate a retired model, skip the timelock, or submit.
///      - Keepers: submit updates; each must pass every check of `submit`. A keeper chooses which valid
///        update lands and when, and the collateral price it claims (within the tolerance); it cannot
///        make the oracle accept scores the model's verifier rejects, parameters the rule does not give,
///        stale or future data, or a move the steward's bounds forbid.
///      - Anyone: reads; executes a ready governance operation.
///
///      Trust assumptions:
///      - Verifier: the ezkl `Halo2Verifier` generated for the model, with keys from a structured reference
///        string nobody can forge proofs with. A locally generated SRS (`ezkl.gen_srs`) is NOT a trusted
///        setup: whoever made it can prove anything. Production must use a ceremony SRS.
///      - Price source: the aggregator Aave's oracle uses for the collateral; a manipulated aggregator
///        moves Aave itself, so binding to it adds no new trust.
///      - Steward: immutable and trusted not to call back (it reads only Aave's data provider).
///
///      Input binding: the claimed `collateralPrice` is always compared with the aggregator at
///      submission. For a `ScoresOnly`, `Logits` or `PackedLogits` model the proof says nothing about that
///      price (the check only stops an update computed at a far-off price). For a `PriceThenScores` or
///      `PriceThenLogits` model the oracle requires the claimed price on the model's `priceShiftBits` grid and
///      passes it as public instance 0, so the proof holds only if the circuit's price input is that price
///      (the price-bound epoch circuit computes its price-dependent features from it), and the tolerance
///      check ties it to the chain. The models
///      read no other chain state (no reserve totals), so nothing else is left to bind; per-account
///      positions stay committed, not bound (see `IRiskOracle`).
contract RiskOracle is IRiskOracle, Ownable2Step {
    /// @notice The largest output scale accepted; keeps `batchSize << outputScaleBits` tiny.
    uint8 public constant MAX_OUTPUT_SCALE_BITS = 64;
    /// @notice The most an epoch may move past the market's last (2^32: a unix time in seconds for
    ///         136 years), so no update can take the epoch near 2^64 and leave no newer one.
    uint64 public constant MAX_EPOCH_STEP = 1 << 32;
    /// @notice 100 % in basis points.
    uint256 internal constant BPS = 10_000;

    /// @notice Kinds of governance operations (part of the operation id).
    uint8 public constant OP_REGISTER_MODEL = 1;
    uint8 public constant OP_RETIRE_MODEL = 2;
    uint8 public constant OP_CONFIGURE_MARKET = 3;

    /// @inheritdoc IRiskOracle
    address public immutable steward;
    /// @inheritdoc IRiskOracle
    uint64 public immutable timelockDelay;

    mapping(uint32 modelId => Model) internal _models;
    mapping(address market => MarketConfig) internal _marketConfigs;
    mapping(address market => MarketState) internal _marketStates;
    mapping(address account => bool) internal _keepers;
    mapping(bytes32 operationId => uint64) internal _readyAt;

    /// @param steward_ The `AaveRiskSteward` that queues accepted updates (this oracle must be its oracle).
    /// @param owner_ Governance.
    /// @param timelockDelay_ Seconds between scheduling and executing a registry or market change
    ///        (production: days; a local test deployment may use 0).
    constructor(address steward_, address owner_, uint64 timelockDelay_) Ownable(owner_) {
        if (steward_ == address(0)) revert Errors.ZeroAddress();
        steward = steward_;
        timelockDelay = timelockDelay_;
    }

    /* ------------------------------------ governance ------------------------------------ */

    /// @notice Adds or removes a keeper; owner only, effective at once.
    function setKeeper(address keeper, bool allowed) external onlyOwner {
        if (keeper == address(0)) revert Errors.ZeroAddress();
        _keepers[keeper] = allowed;
        emit Events.KeeperSet(keeper, allowed);
    }

    /// @notice Schedules the registration of model `modelId`; owner only.
    /// @dev Reverts with `InvalidModel` (zero id or verifier, zero batch, scale above 64, a price shift for a
    ///      layout without a price instance) or `ModelAlreadyRegistered`. `m.active` is ignored: a registered model starts active.
    function scheduleRegisterModel(uint32 modelId, Model calldata m) external onlyOwner returns (bytes32 id) {
        _validateModel(modelId, m);
        id = _schedule(OP_REGISTER_MODEL, abi.encode(modelId, m));
    }

    /// @notice Registers a scheduled model once its timelock elapsed; anyone may call.
    function registerModel(uint32 modelId, Model calldata m) external {
        _consume(OP_REGISTER_MODEL, abi.encode(modelId, m));
        _validateModel(modelId, m);
        Model memory stored = m;
        stored.active = true;
        _models[modelId] = stored;
        emit Events.ModelRegistered(modelId, stored);
    }

    /// @notice Schedules the retirement of model `modelId`; owner only.
    function scheduleRetireModel(uint32 modelId) external onlyOwner returns (bytes32 id) {
        if (!_models[modelId].active) revert Errors.ModelNotActive(modelId);
        id = _schedule(OP_RETIRE_MODEL, abi.encode(modelId));
    }

    /// @notice Retires a model once its timelock elapsed; anyone may call. Retirement is final.
    function retireModel(uint32 modelId) external {
        _consume(OP_RETIRE_MODEL, abi.encode(modelId));
        if (!_models[modelId].active) revert Errors.ModelNotActive(modelId);
        _models[modelId].active = false;
        emit Events.ModelRetired(modelId);
    }

    /// @notice Schedules a market's feed configuration; owner only.
    /// @dev Reverts with `InvalidMarketConfig` for a zero market or price source, a zero `maxDataAge`, or a
    ///      tolerance above 100 %.
    function scheduleConfigureMarket(address market, MarketConfig calldata config)
        external
        onlyOwner
        returns (bytes32 id)
    {
        _validateMarketConfig(market, config);
        id = _schedule(OP_CONFIGURE_MARKET, abi.encode(market, config));
    }

    /// @notice Sets a scheduled market configuration once its timelock elapsed; anyone may call.
    /// @dev The pinned model must be active then (`ModelNotActive`).
    function configureMarket(address market, MarketConfig calldata config) external {
        _consume(OP_CONFIGURE_MARKET, abi.encode(market, config));
        _validateMarketConfig(market, config);
        if (!_models[config.modelId].active) revert Errors.ModelNotActive(config.modelId);
        _marketConfigs[market] = config;
        emit Events.MarketConfigured(market, config);
    }

    /// @notice Cancels a scheduled operation; owner only.
    function cancel(bytes32 id) external onlyOwner {
        if (_readyAt[id] == 0) revert Errors.OperationNotScheduled(id);
        delete _readyAt[id];
        emit Events.OperationCancelled(id);
    }

    /// @notice The id of an operation: keccak256(abi.encode(kind, abi.encode(arguments))).
    function operationId(uint8 kind, bytes memory args) public pure returns (bytes32) {
        return keccak256(abi.encode(kind, args));
    }

    /* -------------------------------------- submit -------------------------------------- */

    /// @inheritdoc IRiskOracle
    function submit(Update calldata update, bytes calldata proof) external {
        (Model memory m, uint16 riskBps) = _checkUpdate(update);
        _verifyProof(m, proof, update);
        uint256 stewardUpdateId = _queueInSteward(update);
        _store(update, proof, riskBps, stewardUpdateId);
    }

    /* -------------------------------------- views -------------------------------------- */

    /// @inheritdoc IRiskOracle
    function marketState(address market) external view returns (MarketState memory) {
        return _marketStates[market];
    }

    /// @inheritdoc IRiskOracle
    function riskOf(address market) external view returns (uint64 epoch, uint16 riskBps) {
        MarketState storage s = _marketStates[market];
        return (s.epoch, s.riskBps);
    }

    /// @inheritdoc IRiskOracle
    function model(uint32 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc IRiskOracle
    function marketConfig(address market) external view returns (MarketConfig memory) {
        return _marketConfigs[market];
    }

    /// @inheritdoc IRiskOracle
    function isKeeper(address account) external view returns (bool) {
        return _keepers[account];
    }

    /// @inheritdoc IRiskOracle
    function readyAt(bytes32 id) external view returns (uint64) {
        return _readyAt[id];
    }

    /* ------------------------------------- internal ------------------------------------ */

    function _schedule(uint8 kind, bytes memory args) internal returns (bytes32 id) {
        id = operationId(kind, args);
        if (_readyAt[id] != 0) revert Errors.OperationAlreadyScheduled(id);
        // Casting is safe: block timestamps fit 64 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 ready = uint64(block.timestamp) + timelockDelay;
        _readyAt[id] = ready;
        emit Events.OperationScheduled(id, kind, ready);
    }

    function _consume(uint8 kind, bytes memory args) internal {
        bytes32 id = operationId(kind, args);
        uint64 ready = _readyAt[id];
        if (ready == 0) revert Errors.OperationNotScheduled(id);
        if (block.timestamp < ready) revert Errors.OperationNotReady(id, ready);
        delete _readyAt[id];
    }

    function _validateModel(uint32 modelId, Model calldata m) internal view {
        if (
            modelId == 0 || m.verifier == address(0) || m.batchSize == 0 || m.outputScaleBits > MAX_OUTPUT_SCALE_BITS
                || (m.priceShiftBits != 0 && !_hasPriceInstance(m.layout))
        ) {
            revert Errors.InvalidModel(modelId);
        }
        if (_models[modelId].verifier != address(0)) revert Errors.ModelAlreadyRegistered(modelId);
    }

    function _validateMarketConfig(address market, MarketConfig calldata config) internal pure {
        if (
            market == address(0) || config.priceSource == address(0) || config.maxDataAge == 0
                || config.priceToleranceBps > BPS
        ) revert Errors.InvalidMarketConfig(market);
    }

    /// @dev Every check of `submit` but the proof; returns the model and the batch's mean risk.
    function _checkUpdate(Update calldata update) internal view returns (Model memory m, uint16 riskBps) {
        if (!_keepers[msg.sender]) revert Errors.NotKeeper();
        MarketConfig memory config = _marketConfigs[update.market];
        if (config.priceSource == address(0)) revert Errors.MarketNotConfigured(update.market);
        if (update.modelId != config.modelId) revert Errors.WrongModel(update.modelId, config.modelId);
        m = _models[update.modelId];
        if (!m.active) revert Errors.ModelNotActive(update.modelId);
        // Casting is safe: block timestamps fit 64 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 nowTimestamp = uint64(block.timestamp);
        if (update.validUntil < nowTimestamp) revert Errors.UpdateExpired(update.validUntil, nowTimestamp);

        (uint256 sum, uint8 ruleBits) = _checkedScoreSum(update.scores, m);
        // The rule averages over the scores: the batch (for `PackedLogits`, three per instance).
        _checkEpochAndAge(update, config.maxDataAge, nowTimestamp);
        if (_hasPriceInstance(m.layout) && update.collateralPrice & ((uint256(1) << m.priceShiftBits) - 1) != 0) {
            revert Errors.PriceOffGrid(update.collateralPrice, m.priceShiftBits);
        }
        _checkPrice(update.collateralPrice, config);

        uint16 ltv;
        uint16 lt;
        uint16 bonus;
        (ltv, lt, bonus, riskBps) = RiskRule.paramsFromSum(sum, m.batchSize, ruleBits);
        Params calldata p = update.params;
        if (ltv != p.ltv || lt != p.liquidationThreshold || bonus != p.liquidationBonus) {
            revert Errors.ParamsMismatch(p.ltv, p.liquidationThreshold, p.liquidationBonus);
        }
    }

    /// @dev Queues the update's parameters in the steward and returns the steward's update id, or 0 when
    ///      the steward refuses them (paused, asset restricted, a move past a bound or inside a
    ///      parameter's delay): the proven update is recorded either way, so the feed (and the vault caps
    ///      that follow its risk) keeps up with the data while Aave moves only as far as the steward allows.
    ///      The refusal is emitted with the steward's revert data. The steward is immutable and reads only
    ///      Aave's data provider: it cannot call back.
    function _queueInSteward(Update calldata update) internal returns (uint256 id) {
        Params calldata p = update.params;
        try IAaveRiskSteward(steward)
            .queue(
                IAaveRiskSteward.ParamUpdate({
                asset: update.market,
                ltv: p.ltv,
                liquidationThreshold: p.liquidationThreshold,
                liquidationBonus: p.liquidationBonus,
                supplyCap: p.supplyCap,
                borrowCap: p.borrowCap,
                validUntil: update.validUntil
            })
            ) returns (
            uint256 queued
        ) {
            id = queued;
        } catch (bytes memory reason) {
            emit Events.StewardRefused(update.market, update.epoch, reason);
        }
    }

    /// @dev Stores the market's new state and emits `UpdateAccepted`.
    function _store(Update calldata update, bytes calldata proof, uint16 riskBps, uint256 stewardUpdateId) internal {
        MarketState storage next = _marketStates[update.market];
        next.epoch = update.epoch;
        next.dataTimestamp = update.dataTimestamp;
        next.dataBlock = update.dataBlock;
        // Casting is safe: block timestamps fit 64 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        next.updatedAt = uint64(block.timestamp);
        next.modelId = update.modelId;
        next.riskBps = riskBps;
        next.params = update.params;
        next.collateralPrice = update.collateralPrice;
        next.scoresHash = keccak256(abi.encodePacked(update.scores));
        next.proofHash = keccak256(proof);
        next.publisher = msg.sender;
        next.stewardUpdateId = stewardUpdateId;
        emit Events.UpdateAccepted(update.market, update.epoch, update.modelId, next, update.scores);
    }

    /// @dev Checks the batch size and that every score is at most 2^outputScaleBits, and returns the
    ///      scores' sum and its fractional bits. For a `Logits` or `PriceThenLogits` model the sum is that of the logits'
    ///      probabilities (`Logistic.probabilityUp`, each at most 2^32); for `PackedLogits` the same
    ///      over the three logits of each instance, whose count times three must be the batch. Each term is at most 2^64 and
    ///      there are at most 2^16 of them: no overflow.
    function _checkedScoreSum(uint256[] calldata scores, Model memory m)
        internal
        pure
        returns (uint256 sum, uint8 bits)
    {
        uint256 n = scores.length;
        if (m.layout == InstanceLayout.PackedLogits) {
            if (n * Logistic.PACK_SLOTS != m.batchSize) {
                revert Errors.BatchSizeMismatch(n * Logistic.PACK_SLOTS, m.batchSize);
            }
            for (uint256 i; i < n; ++i) {
                sum += Logistic.packedProbabilitySumUp(scores[i], m.outputScaleBits);
            }
            return (sum, Logistic.PROB_BITS);
        }
        if (n != m.batchSize) revert Errors.BatchSizeMismatch(n, m.batchSize);
        if (m.layout == InstanceLayout.Logits || m.layout == InstanceLayout.PriceThenLogits) {
            for (uint256 i; i < n; ++i) {
                sum += Logistic.probabilityUp(scores[i], m.outputScaleBits);
            }
            return (sum, Logistic.PROB_BITS);
        }
        bits = m.outputScaleBits;
        uint256 one = uint256(1) << bits;
        for (uint256 i; i < n;) {
            uint256 score = scores[i];
            if (score > one) revert Errors.ScoreOutOfRange(i, score);
            unchecked {
                sum += score;
                ++i;
            }
        }
    }

    /// @dev Whether the model's instance 0 is the claimed price.
    function _hasPriceInstance(InstanceLayout layout) internal pure returns (bool) {
        return layout == InstanceLayout.PriceThenScores || layout == InstanceLayout.PriceThenLogits;
    }

    /// @dev The epoch must move forward, by at most `MAX_EPOCH_STEP`; the data must be neither from the future (time or block) nor
    ///      older than `maxDataAge`.
    function _checkEpochAndAge(Update calldata update, uint64 maxDataAge, uint64 nowTimestamp) internal view {
        uint64 lastEpoch = _marketStates[update.market].epoch;
        if (update.epoch <= lastEpoch) revert Errors.StaleEpoch(update.epoch, lastEpoch);
        if (update.epoch - lastEpoch > MAX_EPOCH_STEP) revert Errors.EpochJump(update.epoch, lastEpoch);
        if (update.dataTimestamp > nowTimestamp) revert Errors.FutureData(update.dataTimestamp, nowTimestamp);
        // Casting is safe: block numbers fit 64 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (update.dataBlock > block.number) revert Errors.FutureData(update.dataBlock, uint64(block.number));
        if (nowTimestamp - update.dataTimestamp > maxDataAge) {
            revert Errors.StaleData(update.dataTimestamp, nowTimestamp);
        }
    }

    /// @dev The claimed price must be within `priceToleranceBps` of the aggregator's latest answer.
    function _checkPrice(uint256 claimed, MarketConfig memory config) internal view {
        (, int256 answer,,,) = IAggregatorV3(config.priceSource).latestRoundData();
        if (answer <= 0) revert Errors.InvalidOnChainPrice(answer);
        // Casting is safe: `answer` is positive.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 onChain = uint256(answer);
        uint256 diff = claimed > onChain ? claimed - onChain : onChain - claimed;
        // diff / onChain <= tolerance / BPS, without division (and so without its rounding). The tolerance
        // is at most BPS, so a diff above onChain always fails; checking that first keeps a huge claimed
        // price from overflowing `diff * BPS` (the aggregator's answer is trusted to be far below 2^242).
        if (diff > onChain || diff * BPS > onChain * config.priceToleranceBps) {
            revert Errors.PriceMismatch(claimed, onChain);
        }
    }

    /// @dev Builds the public instances from the update (`ScoresOnly`, `Logits`, `PackedLogits`: the scores;
    ///      `PriceThenScores`, `PriceThenLogits`: the claimed price, then the scores) and accepts only a call that succeeds and returns exactly
    ///      the ABI encoding of `true`. A revert, `false`, short or odd return data, and an address without
    ///      code all give `InvalidProof`. The call is static: verification cannot change state.
    function _verifyProof(Model memory m, bytes calldata proof, Update calldata update) internal view {
        bytes memory callData;
        if (!_hasPriceInstance(m.layout)) {
            callData = abi.encodeCall(IHalo2Verifier.verifyProof, (proof, update.scores));
        } else {
            uint256 n = update.scores.length;
            uint256[] memory instances = new uint256[](n + 1);
            instances[0] = update.collateralPrice;
            for (uint256 i; i < n; ++i) {
                instances[i + 1] = update.scores[i];
            }
            callData = abi.encodeCall(IHalo2Verifier.verifyProof, (proof, instances));
        }
        (bool success, bytes memory result) = m.verifier.staticcall(callData);
        if (!success || result.length != 32 || abi.decode(result, (uint256)) != 1) revert Errors.InvalidProof();
    }
}
