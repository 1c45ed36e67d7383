// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {BaseTest} from "./Base.t.sol";
import {MockAaveMarket} from "./utils/MockAave.sol";

import {IHalo2Verifier} from "../src/interfaces/IHalo2Verifier.sol";
import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Events} from "../src/libraries/Events.sol";
import {Logistic} from "../src/libraries/Logistic.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";
import {RiskOracle} from "../src/RiskOracle.sol";

contract RiskOracleTest is BaseTest {
    /* ------------------------------------- helpers ------------------------------------- */

    /// @dev Registers a `Logits` model `modelId` (logits at 2^-24) whose verifier is a mock at `name`,
    ///      for a new market `name`'s market; returns the verifier and the market.
    function _logitModel(uint32 modelId, string memory name) internal returns (address fake, address market) {
        fake = makeAddr(name);
        vm.etch(fake, hex"00");
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = fake;
        m.layout = IRiskOracle.InstanceLayout.Logits;
        m.outputScaleBits = 24;
        market = makeAddr(string.concat(name, " market"));
        registerWithMarket(modelId, m, market);
    }

    function _updateOf(address market, uint32 modelId) internal view returns (IRiskOracle.Update memory u) {
        u = validUpdate();
        u.market = market;
        u.modelId = modelId;
    }

    /* --------------------------------- the happy path --------------------------------- */

    function test_submit_acceptsValidUpdateAndQueuesIt() public {
        IRiskOracle.Update memory update = validUpdate();
        (uint16 ltv, uint16 lt, uint16 bonus, uint16 riskBps) = RiskRule.params(fixtureScores, outputScaleBits);
        (uint64 epochBefore, uint16 riskBefore) = oracle.riskOf(asset);
        assertEq(epochBefore + riskBefore, 0, "riskOf before any update");

        vm.expectEmit(true, true, true, false, address(oracle));
        emit Events.UpdateAccepted(asset, 1, MODEL_ID, oracle.marketState(asset), fixtureScores);
        _submit(update, fixtureProof);

        IRiskOracle.MarketState memory state = oracle.marketState(asset);
        assertEq(state.epoch, 1, "epoch");
        assertEq(state.dataTimestamp, update.dataTimestamp, "dataTimestamp");
        assertEq(state.dataBlock, update.dataBlock, "dataBlock");
        assertEq(state.updatedAt, NOW, "updatedAt");
        assertEq(state.modelId, MODEL_ID, "modelId");
        assertEq(state.riskBps, riskBps, "riskBps");
        (uint64 epochNow, uint16 riskNow) = oracle.riskOf(asset);
        assertEq(epochNow, 1, "riskOf: epoch");
        assertEq(riskNow, riskBps, "riskOf: riskBps");
        assertEq(state.params.ltv, ltv, "ltv");
        assertEq(state.params.liquidationThreshold, lt, "lt");
        assertEq(state.params.liquidationBonus, bonus, "bonus");
        assertEq(state.collateralPrice, PRICE, "price");
        assertEq(state.scoresHash, keccak256(abi.encodePacked(fixtureScores)), "scoresHash");
        assertEq(state.proofHash, keccak256(fixtureProof), "proofHash");
        assertEq(state.publisher, keeper, "publisher");
        assertEq(state.stewardUpdateId, 1, "steward id");

        // Queued, not applied: Aave moves only when the steward executes after its delay.
        (uint256 aLtv,,) = aaveParams(asset);
        assertEq(aLtv, START_LTV, "aave unchanged before execution");
        vm.warp(block.timestamp + EXECUTION_DELAY);
        steward.execute(state.stewardUpdateId);
        (uint256 nLtv, uint256 nLt, uint256 nBonus) = aaveParams(asset);
        assertEq(nLtv, ltv, "aave ltv");
        assertEq(nLt, lt, "aave lt");
        assertEq(nBonus, bonus, "aave bonus");
    }

    /// @dev The gas of a valid submit (proof verification, price binding, steward queue), for the snapshot.
    function test_gas_submitValid() public {
        IRiskOracle.Update memory update = validUpdate();
        _submit(update, fixtureProof);
    }

    function test_submit_laterEpochAccepted() public {
        _submit(validUpdate(), fixtureProof);
        vm.warp(NOW + 1 days);
        _submit(updateFor(fixtureScores, 7), fixtureProof);
        assertEq(oracle.marketState(asset).epoch, 7, "epoch");
        assertEq(oracle.marketState(asset).updatedAt, NOW + 1 days, "updatedAt");
        assertEq(oracle.marketState(asset).stewardUpdateId, 2, "second steward update");
    }

    function test_submit_dataExactlyMaxDataAgeOldAccepted() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataTimestamp = NOW - MAX_DATA_AGE;
        _submit(update, fixtureProof);
        assertEq(oracle.marketState(asset).dataTimestamp, NOW - MAX_DATA_AGE, "dataTimestamp");
    }

    function test_constructor_setsState() public view {
        assertEq(oracle.steward(), address(steward));
        assertEq(oracle.owner(), owner);
        assertEq(oracle.timelockDelay(), TIMELOCK);
        assertTrue(oracle.isKeeper(keeper), "keeper");
        assertFalse(oracle.isKeeper(stranger), "stranger");
        IRiskOracle.Model memory m = oracle.model(MODEL_ID);
        assertEq(m.verifier, address(verifier));
        assertEq(m.featureSchemaHash, SCHEMA_HASH);
        assertEq(m.outputScaleBits, outputScaleBits);
        assertEq(m.batchSize, batchSize);
        assertEq(m.horizon, 7 days);
        assertTrue(m.active, "active");
        IRiskOracle.MarketConfig memory c = oracle.marketConfig(asset);
        assertEq(c.modelId, MODEL_ID);
        assertEq(c.maxDataAge, MAX_DATA_AGE);
        assertEq(c.priceSource, address(priceFeed));
        assertEq(c.priceToleranceBps, PRICE_TOLERANCE_BPS);
    }

    function test_constructor_revertsOnZeroSteward() public {
        vm.expectRevert(Errors.ZeroAddress.selector);
        new RiskOracle(address(0), owner, TIMELOCK);
    }

    /* ------------------------------------ the proof ------------------------------------ */

    function test_submit_revertsOnTamperedProof() public {
        bytes memory proof = bytes.concat(fixtureProof);
        proof[proof.length / 2] ^= 0x01;
        _expectSubmitRevert(validUpdate(), proof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    function test_submit_revertsOnTruncatedProof() public {
        bytes memory proof = new bytes(fixtureProof.length - 32);
        for (uint256 i; i < proof.length; ++i) {
            proof[i] = fixtureProof[i];
        }
        _expectSubmitRevert(validUpdate(), proof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    /// @dev A score the proof does not attest to, with the parameters recomputed so that the rule
    ///      check passes: only the proof can catch it.
    function test_submit_revertsOnTamperedScore() public {
        uint256[] memory scores = fixtureScores;
        scores[_firstScoreBelowOne(scores)] += 1;
        _expectSubmitRevert(updateFor(scores, 1), fixtureProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    function test_submit_revertsOnReorderedScores() public {
        uint256[] memory scores = fixtureScores;
        uint256 j = _firstIndexDifferentFromFirst(scores);
        (scores[0], scores[j]) = (scores[j], scores[0]);
        _expectSubmitRevert(updateFor(scores, 1), fixtureProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    function test_submit_revertsWhenVerifierHasNoCode() public {
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = makeAddr("no code");
        address market = makeAddr("market 2");
        registerWithMarket(2, m, market);
        _expectSubmitRevert(_updateOf(market, 2), fixtureProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    function test_submit_revertsWhenVerifierReturnsFalse() public {
        address fake = makeAddr("false verifier");
        vm.etch(fake, hex"00");
        vm.mockCall(fake, bytes(""), abi.encode(false));
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = fake;
        address market = makeAddr("market 2");
        registerWithMarket(2, m, market);
        _expectSubmitRevert(_updateOf(market, 2), fixtureProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    /// @notice The price-binding layout: the verifier sees the claimed price as instance 0, then the scores. A
    ///         verifier that accepts exactly those instances accepts the update; the same proof with
    ///         another claimed price (still within the tolerance) is rejected.
    function test_submit_priceThenScoresLayoutBindsThePrice() public {
        address fake = makeAddr("price-binding verifier");
        vm.etch(fake, hex"00");
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = fake;
        m.layout = IRiskOracle.InstanceLayout.PriceThenScores;
        address market = makeAddr("market 3");
        registerWithMarket(3, m, market);

        IRiskOracle.Update memory u = _updateOf(market, 3);
        uint256[] memory instances = new uint256[](fixtureScores.length + 1);
        instances[0] = u.collateralPrice;
        for (uint256 i; i < fixtureScores.length; ++i) {
            instances[i + 1] = fixtureScores[i];
        }
        vm.mockCall(fake, abi.encodeCall(IHalo2Verifier.verifyProof, (fixtureProof, instances)), abi.encode(true));

        IRiskOracle.Update memory otherPrice = _updateOf(market, 3);
        otherPrice.collateralPrice = u.collateralPrice + 1;
        _expectSubmitRevert(otherPrice, fixtureProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
        _submit(u, fixtureProof);
        assertEq(oracle.marketState(market).collateralPrice, u.collateralPrice);
    }

    /// @notice The `Logits` layout: the verifier sees the logits as they are, and the oracle applies
    ///         the logistic link before the rule. A logit update whose parameters are the rule of the
    ///         probabilities is accepted; one whose parameters are the rule of the raw instances read
    ///         as scores is not; a logit that is not a field element is rejected by value.
    function test_submit_logitsLayoutAppliesTheLink() public {
        (address fake, address market) = _logitModel(4, "logit verifier");

        // Logits -6, -6.25, -6.5, -6.75 (in 2^-24), as r - |z|: p from 0.25 % down to 0.12 %.
        uint256 n = fixtureScores.length;
        uint256[] memory logits = new uint256[](n);
        uint256 sum;
        for (uint256 i; i < n; ++i) {
            logits[i] = Logistic.FIELD_MODULUS - ((24 + i % 4) << 22);
            sum += Logistic.probabilityUp(logits[i], 24);
        }
        vm.mockCall(fake, abi.encodeCall(IHalo2Verifier.verifyProof, (fixtureProof, logits)), abi.encode(true));

        IRiskOracle.Update memory u = _updateOf(market, 4);
        u.scores = logits;
        (uint16 ltv, uint16 lt, uint16 bonus, uint16 riskBps) = RiskRule.paramsFromSum(sum, n, Logistic.PROB_BITS);
        // A mean of about 0.18 %: 18 bps of risk, LTV 27 bps lower (within the steward's 50).
        assertEq(riskBps, 18, "riskBps");
        assertEq(ltv, 7_973, "ltv");
        u.params.ltv = ltv;
        u.params.liquidationThreshold = lt;
        u.params.liquidationBonus = bonus;
        _submit(u, fixtureProof);
        assertEq(oracle.marketState(market).riskBps, riskBps, "stored risk");
        assertEq(oracle.marketState(market).scoresHash, keccak256(abi.encodePacked(logits)), "scores hash");

        IRiskOracle.Update memory bad = _updateOf(market, 4);
        bad.epoch = 2;
        bad.scores = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            bad.scores[i] = logits[i];
        }
        bad.scores[0] = Logistic.FIELD_MODULUS;
        _expectSubmitRevert(
            bad, fixtureProof, abi.encodeWithSelector(Errors.NotAFieldElement.selector, Logistic.FIELD_MODULUS)
        );
    }

    /// @notice The `PackedLogits` layout: three logits to an instance, the batch three times the
    ///         instances; the rule averages the unpacked probabilities. A wrong count and a malformed
    ///         instance are refused by selector.
    function test_submit_packedLogitsLayout() public {
        (address fake, address market) = _logitModel(6, "packed verifier");
        // Re-register as packed: a new model id with the same mock verifier, 3 logits per instance.
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = fake;
        m.layout = IRiskOracle.InstanceLayout.PackedLogits;
        m.outputScaleBits = 24;
        m.batchSize = 66;
        address packedMarket = makeAddr("packed market");
        registerWithMarket(7, m, packedMarket);
        assertTrue(market != packedMarket, "two markets");

        uint256[] memory instances = new uint256[](22);
        uint256 sum;
        for (uint256 i; i < 22; ++i) {
            uint256 z = (24 + i % 4) << 22; // logits -6 .. -6.75
            instances[i] = Logistic.FIELD_MODULUS - (z + (z << 50) + (z << 100));
            sum += 3 * Logistic.probabilityUp(Logistic.FIELD_MODULUS - z, 24);
        }
        vm.mockCall(fake, abi.encodeCall(IHalo2Verifier.verifyProof, (fixtureProof, instances)), abi.encode(true));
        IRiskOracle.Update memory u = _updateOf(packedMarket, 7);
        u.scores = instances;
        (uint16 ltv, uint16 lt, uint16 bonus, uint16 riskBps) = RiskRule.paramsFromSum(sum, 66, Logistic.PROB_BITS);
        // 6, 6, 5 and 5 instances at the four logits: a mean of 0.1807 %, 19 bps rounded up.
        assertEq(riskBps, 19, "riskBps");
        (u.params.ltv, u.params.liquidationThreshold, u.params.liquidationBonus) = (ltv, lt, bonus);
        _submit(u, fixtureProof);
        assertEq(oracle.marketState(packedMarket).riskBps, riskBps, "stored risk");

        IRiskOracle.Update memory short = _updateOf(packedMarket, 7);
        short.epoch = 2;
        short.scores = new uint256[](21);
        _expectSubmitRevert(
            short, fixtureProof, abi.encodeWithSelector(Errors.BatchSizeMismatch.selector, uint256(63), uint256(66))
        );
        IRiskOracle.Update memory bad = _updateOf(packedMarket, 7);
        bad.epoch = 2;
        bad.scores = new uint256[](22);
        bad.scores[5] = uint256(1) << 150;
        _expectSubmitRevert(
            bad, fixtureProof, abi.encodeWithSelector(Errors.MalformedPackedLogits.selector, uint256(1) << 150)
        );
    }

    /// @notice Logits read as plain scores would be far above 2^outputScaleBits: the rule's parameters
    ///         for a `Logits` model come from the probabilities, and others are refused.
    function test_submit_logitsLayoutRejectsParamsNotFromTheLink() public {
        (, address market) = _logitModel(5, "logit verifier 2");
        uint256 n = fixtureScores.length;
        uint256[] memory logits = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            logits[i] = Logistic.FIELD_MODULUS - (7 << 24); // p = 0.09 %
        }
        IRiskOracle.Update memory u = _updateOf(market, 5);
        u.scores = logits;
        // The rule at zero risk: LTV 80 %; the link gives 10 bps, so LTV 79.85 %.
        u.params.ltv = 8_000;
        u.params.liquidationThreshold = 8_500;
        (uint16 ltv, uint16 lt,,) =
            RiskRule.paramsFromSum(Logistic.probabilityUp(logits[0], 24) * n, n, Logistic.PROB_BITS);
        _expectSubmitRevert(
            u,
            fixtureProof,
            abi.encodeWithSelector(
                Errors.ParamsMismatch.selector, uint16(8_000), uint16(8_500), u.params.liquidationBonus
            )
        );
        assertLt(ltv, 8_000, "the link's risk moves the LTV");
        assertEq(lt, ltv + 500, "lt");
    }

    /* --------------------------------- the other checks -------------------------------- */

    function test_submit_revertsForNonKeeper() public {
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.NotKeeper.selector);
        vm.prank(stranger);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsForRemovedKeeper() public {
        vm.prank(owner);
        oracle.setKeeper(keeper, false);
        _expectSubmitRevert(validUpdate(), fixtureProof, abi.encodeWithSelector(Errors.NotKeeper.selector));
    }

    function test_submit_revertsForUnconfiguredMarket() public {
        IRiskOracle.Update memory update = validUpdate();
        update.market = stranger;
        _expectSubmitRevert(update, fixtureProof, abi.encodeWithSelector(Errors.MarketNotConfigured.selector, stranger));
    }

    function test_submit_revertsForWrongModel() public {
        IRiskOracle.Update memory update = validUpdate();
        update.modelId = 9;
        _expectSubmitRevert(update, fixtureProof, abi.encodeWithSelector(Errors.WrongModel.selector, 9, MODEL_ID));
    }

    function test_submit_revertsForRetiredModel() public {
        vm.prank(owner);
        oracle.scheduleRetireModel(MODEL_ID);
        vm.warp(block.timestamp + TIMELOCK);
        oracle.retireModel(MODEL_ID);
        _expectSubmitRevert(
            validUpdate(), fixtureProof, abi.encodeWithSelector(Errors.ModelNotActive.selector, MODEL_ID)
        );
    }

    function test_submit_revertsWhenExpired() public {
        IRiskOracle.Update memory update = validUpdate();
        update.validUntil = uint40(block.timestamp) - 1;
        _expectSubmitRevert(update, fixtureProof, abi.encodeWithSelector(Errors.UpdateExpired.selector, NOW - 1, NOW));
    }

    function test_submit_revertsOnReplayedEpoch() public {
        IRiskOracle.Update memory update = validUpdate();
        _submit(update, fixtureProof);
        _expectSubmitRevert(update, fixtureProof, abi.encodeWithSelector(Errors.StaleEpoch.selector, 1, 1));
    }

    /// @notice An epoch may move at most `MAX_EPOCH_STEP` past the last, so no update can take a market's
    ///         epoch near 2^64 and leave no newer one.
    function test_submit_revertsOnEpochJump() public {
        uint64 step = oracle.MAX_EPOCH_STEP();
        assertEq(step, 1 << 32, "steps of 2^32 (a unix time, one per second, for 136 years)");
        _expectSubmitRevert(
            updateFor(fixtureScores, step + 1),
            fixtureProof,
            abi.encodeWithSelector(Errors.EpochJump.selector, step + 1, 0)
        );
        _submit(updateFor(fixtureScores, step), fixtureProof);
        _expectSubmitRevert(
            updateFor(fixtureScores, type(uint64).max),
            fixtureProof,
            abi.encodeWithSelector(Errors.EpochJump.selector, type(uint64).max, step)
        );
        _submit(updateFor(fixtureScores, 2 * step), fixtureProof);
        assertEq(oracle.marketState(asset).epoch, 2 * step);
    }

    function test_submit_revertsOnEpochZero() public {
        _expectSubmitRevert(
            updateFor(fixtureScores, 0), fixtureProof, abi.encodeWithSelector(Errors.StaleEpoch.selector, 0, 0)
        );
    }

    function test_submit_revertsOnOlderEpoch() public {
        _submit(updateFor(fixtureScores, 5), fixtureProof);
        _expectSubmitRevert(
            updateFor(fixtureScores, 4), fixtureProof, abi.encodeWithSelector(Errors.StaleEpoch.selector, 4, 5)
        );
    }

    function test_submit_revertsOnMismatchedParams() public {
        IRiskOracle.Update memory update = validUpdate();
        update.params.ltv += 1;
        IRiskOracle.Params memory p = update.params;
        _expectSubmitRevert(
            update,
            fixtureProof,
            abi.encodeWithSelector(Errors.ParamsMismatch.selector, p.ltv, p.liquidationThreshold, p.liquidationBonus)
        );
    }

    function test_submit_revertsOnMismatchedBonus() public {
        IRiskOracle.Update memory update = validUpdate();
        update.params.liquidationBonus = 10_000;
        IRiskOracle.Params memory p = update.params;
        _expectSubmitRevert(
            update,
            fixtureProof,
            abi.encodeWithSelector(Errors.ParamsMismatch.selector, p.ltv, p.liquidationThreshold, p.liquidationBonus)
        );
    }

    function test_submit_revertsOnWrongBatchSize() public {
        uint256[] memory scores = new uint256[](fixtureScores.length - 1);
        for (uint256 i; i < scores.length; ++i) {
            scores[i] = fixtureScores[i];
        }
        _expectSubmitRevert(
            updateFor(scores, 1),
            fixtureProof,
            abi.encodeWithSelector(Errors.BatchSizeMismatch.selector, scores.length, fixtureScores.length)
        );
    }

    function test_submit_revertsOnScoreAboveOne() public {
        IRiskOracle.Update memory update = validUpdate();
        uint256 last = update.scores.length - 1;
        uint256 tooHigh = (uint256(1) << outputScaleBits) + 1;
        update.scores[last] = tooHigh;
        _expectSubmitRevert(
            update, fixtureProof, abi.encodeWithSelector(Errors.ScoreOutOfRange.selector, last, tooHigh)
        );
    }

    function test_submit_revertsOnStaleData() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataTimestamp = NOW - MAX_DATA_AGE - 1;
        _expectSubmitRevert(
            update, fixtureProof, abi.encodeWithSelector(Errors.StaleData.selector, update.dataTimestamp, NOW)
        );
    }

    function test_submit_revertsOnFutureData() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataTimestamp = NOW + 1;
        _expectSubmitRevert(update, fixtureProof, abi.encodeWithSelector(Errors.FutureData.selector, NOW + 1, NOW));
    }

    function test_submit_revertsOnFutureBlock() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataBlock = uint64(block.number + 1);
        _expectSubmitRevert(
            update, fixtureProof, abi.encodeWithSelector(Errors.FutureData.selector, block.number + 1, block.number)
        );
    }

    function test_submit_revertsOnPriceOutsideTolerance() public {
        // 1 % of 3,000e8 is 30e8: 3,030e8 is the edge, one unit more is rejected (both directions).
        IRiskOracle.Update memory update = validUpdate();
        uint256 onChain = PRICE;
        update.collateralPrice = onChain + 30e8 + 1;
        _expectSubmitRevert(
            update, fixtureProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, update.collateralPrice, onChain)
        );
        update.collateralPrice = onChain - 30e8 - 1;
        _expectSubmitRevert(
            update, fixtureProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, update.collateralPrice, onChain)
        );
        update.collateralPrice = onChain + 30e8;
        _submit(update, fixtureProof);
    }

    /// @notice A claimed price so large that `diff * 10_000` would overflow is a `PriceMismatch`, not a panic.
    function test_submit_hugeClaimedPriceIsAPriceMismatch() public {
        IRiskOracle.Update memory update = validUpdate();
        update.collateralPrice = type(uint256).max;
        _expectSubmitRevert(
            update, fixtureProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, type(uint256).max, PRICE)
        );
    }

    /// @notice The binding follows the chain: when the aggregator moves, a price claimed before the move
    ///         is rejected.
    function test_submit_revertsAfterAggregatorMoved() public {
        priceFeed.setAnswer(2_000e8);
        _expectSubmitRevert(
            validUpdate(), fixtureProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, PRICE, 2_000e8)
        );
    }

    function test_submit_revertsOnNonPositiveOnChainPrice() public {
        priceFeed.setAnswer(0);
        _expectSubmitRevert(validUpdate(), fixtureProof, abi.encodeWithSelector(Errors.InvalidOnChainPrice.selector, 0));
    }

    /// @notice A steward refusal (paused, a cap past its bound) does not stop the feed: the proven update
    ///         is recorded with `stewardUpdateId` 0, `StewardRefused` carries the steward's error, and
    ///         nothing is queued for Aave.
    function test_submit_recordsTheUpdateWhenStewardRefuses() public {
        vm.prank(guardian);
        steward.pause();
        vm.expectEmit(true, true, false, true, address(oracle));
        emit Events.StewardRefused(asset, 1, abi.encodeWithSelector(Errors.StewardPaused.selector));
        _submit(validUpdate(), fixtureProof);
        IRiskOracle.MarketState memory state = oracle.marketState(asset);
        assertEq(state.epoch, 1, "recorded");
        assertEq(state.stewardUpdateId, 0, "not queued");
        assertEq(steward.updateCount(), 0, "nothing queued");

        vm.prank(guardian);
        steward.unpause();
        IRiskOracle.Update memory update = updateFor(fixtureScores, 2);
        update.params.supplyCap = 2_000_000;
        vm.expectEmit(true, true, false, true, address(oracle));
        emit Events.StewardRefused(
            asset,
            2,
            abi.encodeWithSelector(Errors.BoundExceeded.selector, uint8(3), START_SUPPLY_CAP, START_SUPPLY_CAP * 2)
        );
        _submit(update, fixtureProof);
        state = oracle.marketState(asset);
        assertEq(state.epoch, 2, "recorded");
        assertEq(state.stewardUpdateId, 0, "not queued");
        assertEq(state.params.supplyCap, 2_000_000, "the keeper's claimed cap, as submitted");
        assertEq(steward.updateCount(), 0, "nothing queued");

        _submit(updateFor(fixtureScores, 3), fixtureProof);
        assertEq(oracle.marketState(asset).stewardUpdateId, 1, "queued once the steward accepts");
    }

    /* ------------------------------------ governance ------------------------------------ */

    function test_setKeeper_onlyOwnerNonZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        oracle.setKeeper(stranger, true);
        vm.expectRevert(Errors.ZeroAddress.selector);
        vm.prank(owner);
        oracle.setKeeper(address(0), true);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit Events.KeeperSet(stranger, true);
        vm.prank(owner);
        oracle.setKeeper(stranger, true);
        assertTrue(oracle.isKeeper(stranger), "added");
    }

    function test_registry_onlyOwnerSchedules() public {
        IRiskOracle.Model memory m = fixtureModel();
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        oracle.scheduleRegisterModel(2, m);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        oracle.scheduleRetireModel(MODEL_ID);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        oracle.scheduleConfigureMarket(asset, marketConfig());
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        oracle.cancel(bytes32(0));
        vm.stopPrank();
    }

    function test_registry_rejectsInvalidModels() public {
        IRiskOracle.Model memory m = fixtureModel();
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidModel.selector, 0));
        oracle.scheduleRegisterModel(0, m);
        m.verifier = address(0);
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidModel.selector, 2));
        oracle.scheduleRegisterModel(2, m);
        m = fixtureModel();
        m.batchSize = 0;
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidModel.selector, 2));
        oracle.scheduleRegisterModel(2, m);
        m = fixtureModel();
        m.outputScaleBits = 65;
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidModel.selector, 2));
        oracle.scheduleRegisterModel(2, m);
        // A price shift means nothing without a price instance.
        IRiskOracle.InstanceLayout[3] memory unpriced = [
            IRiskOracle.InstanceLayout.ScoresOnly,
            IRiskOracle.InstanceLayout.Logits,
            IRiskOracle.InstanceLayout.PackedLogits
        ];
        for (uint256 i; i < unpriced.length; ++i) {
            m = fixtureModel();
            m.layout = unpriced[i];
            m.priceShiftBits = 1;
            vm.expectRevert(abi.encodeWithSelector(Errors.InvalidModel.selector, 2));
            oracle.scheduleRegisterModel(2, m);
        }
        m = fixtureModel();
        m.layout = IRiskOracle.InstanceLayout.PriceThenLogits;
        m.priceShiftBits = 22;
        oracle.scheduleRegisterModel(2, m);
        vm.stopPrank();
    }

    /// @notice Nothing changes a model's verifier in place: a registered id cannot be registered again,
    ///         not even after retirement.
    function test_registry_neverReplacesAVerifier() public {
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = stranger;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.ModelAlreadyRegistered.selector, MODEL_ID));
        oracle.scheduleRegisterModel(MODEL_ID, m);

        vm.prank(owner);
        oracle.scheduleRetireModel(MODEL_ID);
        vm.warp(block.timestamp + TIMELOCK);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit Events.ModelRetired(MODEL_ID);
        oracle.retireModel(MODEL_ID);
        assertFalse(oracle.model(MODEL_ID).active, "retired");
        assertEq(oracle.model(MODEL_ID).verifier, address(verifier), "verifier kept for the record");
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.ModelAlreadyRegistered.selector, MODEL_ID));
        oracle.scheduleRegisterModel(MODEL_ID, m);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.ModelNotActive.selector, MODEL_ID));
        oracle.scheduleRetireModel(MODEL_ID);
    }

    function test_registry_timelockAndCancel() public {
        IRiskOracle.Model memory m = fixtureModel();
        bytes32 id = oracle.operationId(oracle.OP_REGISTER_MODEL(), abi.encode(uint32(2), m));
        vm.expectRevert(abi.encodeWithSelector(Errors.OperationNotScheduled.selector, id));
        oracle.registerModel(2, m);

        vm.expectEmit(true, true, true, true, address(oracle));
        emit Events.OperationScheduled(id, oracle.OP_REGISTER_MODEL(), NOW + TIMELOCK);
        vm.prank(owner);
        assertEq(oracle.scheduleRegisterModel(2, m), id);
        assertEq(oracle.readyAt(id), NOW + TIMELOCK);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.OperationAlreadyScheduled.selector, id));
        oracle.scheduleRegisterModel(2, m);

        vm.warp(NOW + TIMELOCK - 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.OperationNotReady.selector, id, NOW + TIMELOCK));
        oracle.registerModel(2, m);

        vm.prank(owner);
        oracle.cancel(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.OperationNotScheduled.selector, id));
        oracle.cancel(id);
        vm.warp(NOW + TIMELOCK);
        vm.expectRevert(abi.encodeWithSelector(Errors.OperationNotScheduled.selector, id));
        oracle.registerModel(2, m);

        // Scheduled again, it executes after the full delay, once.
        vm.prank(owner);
        oracle.scheduleRegisterModel(2, m);
        vm.warp(block.timestamp + TIMELOCK);
        vm.prank(stranger);
        oracle.registerModel(2, m);
        assertTrue(oracle.model(2).active, "registered by anyone after the delay");
        vm.expectRevert(abi.encodeWithSelector(Errors.OperationNotScheduled.selector, id));
        oracle.registerModel(2, m);
    }

    function test_registry_rejectsInvalidMarketConfigs() public {
        IRiskOracle.MarketConfig memory c = marketConfig();
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidMarketConfig.selector, address(0)));
        oracle.scheduleConfigureMarket(address(0), c);
        c.priceSource = address(0);
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidMarketConfig.selector, asset));
        oracle.scheduleConfigureMarket(asset, c);
        c = marketConfig();
        c.maxDataAge = 0;
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidMarketConfig.selector, asset));
        oracle.scheduleConfigureMarket(asset, c);
        c = marketConfig();
        c.priceToleranceBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidMarketConfig.selector, asset));
        oracle.scheduleConfigureMarket(asset, c);
        // A market may only pin an active model, checked when the change executes.
        c = marketConfig();
        c.modelId = 42;
        oracle.scheduleConfigureMarket(asset, c);
        vm.stopPrank();
        vm.warp(block.timestamp + TIMELOCK);
        vm.expectRevert(abi.encodeWithSelector(Errors.ModelNotActive.selector, 42));
        oracle.configureMarket(asset, c);
    }

    /* -------------------------------------- fuzz -------------------------------------- */

    /// @notice Random proof bytes never pass.
    function testFuzz_submit_randomProofRejected(bytes memory proof) public {
        vm.assume(keccak256(proof) != keccak256(fixtureProof));
        _expectSubmitRevert(validUpdate(), proof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    /// @notice The price binding accepts exactly the claimed prices within the tolerance.
    function testFuzz_submit_priceTolerance(uint256 claimed) public {
        claimed = bound(claimed, 1, 2 * PRICE);
        IRiskOracle.Update memory update = validUpdate();
        update.collateralPrice = claimed;
        uint256 onChain = PRICE;
        uint256 diff = claimed > onChain ? claimed - onChain : onChain - claimed;
        if (diff * 10_000 > onChain * PRICE_TOLERANCE_BPS) {
            _expectSubmitRevert(
                update, fixtureProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, claimed, onChain)
            );
        } else {
            _submit(update, fixtureProof);
            assertEq(oracle.marketState(asset).collateralPrice, claimed);
        }
    }

    /* ------------------------------------- helpers ------------------------------------- */

    function _firstScoreBelowOne(uint256[] memory scores) internal view returns (uint256) {
        uint256 one = uint256(1) << outputScaleBits;
        for (uint256 i; i < scores.length; ++i) {
            if (scores[i] < one) return i;
        }
        revert("fixture: every score is 1");
    }

    function _firstIndexDifferentFromFirst(uint256[] memory scores) internal pure returns (uint256) {
        for (uint256 i = 1; i < scores.length; ++i) {
            if (scores[i] != scores[0]) return i;
        }
        revert("fixture: all scores are equal");
    }
}
