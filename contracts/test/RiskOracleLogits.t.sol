// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {BaseTest} from "./Base.t.sol";
import {MockAaveMarket} from "./utils/MockAave.sol";
import {Halo2VerifierLogits} from "./fixtures/Halo2VerifierLogits.sol";
import {Halo2VerifierPacked} from "./fixtures/Halo2VerifierPacked.sol";
import {Halo2VerifierPriced} from "./fixtures/Halo2VerifierPriced.sol";

import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Logistic} from "../src/libraries/Logistic.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";

/// @notice A logit circuit with its real verifier and a real proof from test/fixtures
///         (scripts/export_forge_fixture.py --logits, --packed or --priced): the oracle accepts it and every
///         check of `submit` still holds. Each concrete suite names its fixture, verifier and layout.
abstract contract LogitFixtureTest is BaseTest {
    uint32 internal constant LOGIT_MODEL = 9;

    address internal immutable logitMarket = makeAddr("logit market");
    address internal logitVerifier;
    bytes internal logitProof;
    uint256[] internal logits;
    uint8 internal logitBits;
    uint16 internal logitBatch;

    function _fixturePath() internal pure virtual returns (string memory);
    function _layout() internal pure virtual returns (IRiskOracle.InstanceLayout, string memory);
    function _deployVerifier() internal virtual returns (address);

    function setUp() public virtual override {
        super.setUp();
        string memory json = vm.readFile(_fixturePath());
        (IRiskOracle.InstanceLayout layout, string memory layoutName) = _layout();
        assertEq(keccak256(bytes(vm.parseJsonString(json, ".layout"))), keccak256(bytes(layoutName)), "layout");
        logitProof = vm.parseJsonBytes(json, ".proof");
        logits = vm.parseJsonUintArray(json, ".scores");
        uint256 bits = vm.parseJsonUint(json, ".outputScaleBits");
        assertLe(bits, Logistic.MAX_LOGIT_BITS, "fixture: outputScaleBits");
        // Casting is safe: checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        logitBits = uint8(bits);
        uint256 batch = vm.parseJsonUint(json, ".batchSize");
        assertLe(batch, type(uint16).max, "fixture: batchSize");
        // Casting is safe: checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        logitBatch = uint16(batch);
        logitVerifier = _deployVerifier();
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = logitVerifier;
        m.layout = layout;
        m.outputScaleBits = logitBits;
        m.batchSize = logitBatch;
        m.priceShiftBits = _priceShiftBits();
        registerWithMarket(LOGIT_MODEL, m, logitMarket);
    }

    /// @dev The update of the logit market for `scores` (the proof's logits), with the rule's parameters
    ///      for their probabilities, claiming `_claimedPrice()`.
    function _logitUpdate(uint256[] memory scores, uint64 epoch) internal view returns (IRiskOracle.Update memory u) {
        u = updateFor(fixtureScores, epoch);
        u.market = logitMarket;
        u.modelId = LOGIT_MODEL;
        u.scores = scores;
        u.collateralPrice = _claimedPrice();
        (u.params.ltv, u.params.liquidationThreshold, u.params.liquidationBonus,) =
            RiskRule.paramsFromSum(_probabilitySum(scores), logitBatch, Logistic.PROB_BITS);
    }

    /// @dev The probabilities' sum the oracle computes for these instances.
    function _probabilitySum(uint256[] memory scores) internal view virtual returns (uint256 sum);

    /// @dev The sum of one logit's probability per instance (`Logits`, `PriceThenLogits`).
    function _linkedSum(uint256[] memory scores) internal view returns (uint256 sum) {
        for (uint256 i; i < scores.length; ++i) {
            sum += Logistic.probabilityUp(scores[i], logitBits);
        }
    }

    /// @dev The collateral price the fixture's update claims: the aggregator's, unless the proof binds one.
    function _claimedPrice() internal view virtual returns (uint256) {
        return PRICE;
    }

    /// @dev The model's price shift: 0 unless the proof binds a price.
    function _priceShiftBits() internal view virtual returns (uint8) {
        return 0;
    }

    /// @dev The aggregator's answer in the suite.
    function _onChainPrice() internal view virtual returns (uint256) {
        return PRICE;
    }

    /// @dev The public instances the verifier checks for `scores`: the scores themselves here.
    function _instances(uint256[] memory scores) internal view virtual returns (uint256[] memory) {
        return scores;
    }

    function test_verifierIsDeployableOnMainnet() public view {
        assertLt(logitVerifier.code.length, 24_576, "runtime size");
        assertGe(logitBatch, 64, "at least 64 scores");
    }

    function test_verifierAcceptsTheFixtureProof() public {
        assertTrue(Halo2VerifierLogits(logitVerifier).verifyProof(logitProof, _instances(logits)), "verifyProof");
    }

    /// @notice The gas of `submit` with the epoch circuit (recorded in .gas-snapshot): verification,
    ///         the link on 64 logits, the price check, storage and the steward's queue.
    function test_gas_submitLogits() public {
        _submit(_logitUpdate(logits, 1), logitProof);
        IRiskOracle.MarketState memory s = oracle.marketState(logitMarket);
        assertEq(s.epoch, 1, "epoch");
        assertEq(s.scoresHash, keccak256(abi.encodePacked(logits)), "scores hash");
        assertEq(s.proofHash, keccak256(logitProof), "proof hash");
    }

    function test_revertsOnTamperedProof() public {
        bytes memory proof = bytes.concat(logitProof);
        proof[proof.length / 2] ^= 0x01;
        _expectSubmitRevert(_logitUpdate(logits, 1), proof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    /// @notice One logit one unit higher, with the parameters recomputed for it: the proof no longer
    ///         matches its instances.
    function test_revertsOnTamperedLogit() public {
        uint256[] memory bumped = new uint256[](logits.length);
        for (uint256 i; i < logits.length; ++i) {
            bumped[i] = logits[i];
        }
        bumped[0] = bumped[0] + 1 == Logistic.FIELD_MODULUS ? 0 : bumped[0] + 1;
        _expectSubmitRevert(_logitUpdate(bumped, 1), logitProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
    }

    /// @notice Parameters other than the rule applied to the linked probabilities are refused.
    function test_revertsOnParamsNotFromTheLink() public {
        IRiskOracle.Update memory u = _logitUpdate(logits, 1);
        u.params.ltv -= 1;
        u.params.liquidationThreshold -= 1;
        _expectSubmitRevert(
            u,
            logitProof,
            abi.encodeWithSelector(
                Errors.ParamsMismatch.selector, u.params.ltv, u.params.liquidationThreshold, u.params.liquidationBonus
            )
        );
    }

    /// @notice The input-binding check (claimed price against the aggregator) holds for the epoch circuit.
    function test_revertsOnPriceOutsideTolerance() public {
        IRiskOracle.Update memory u = _logitUpdate(logits, 1);
        uint256 onChain = _onChainPrice();
        // Just beyond the tolerance, on the model's price grid.
        uint256 step = uint256(1) << _priceShiftBits();
        u.collateralPrice = (onChain + onChain * (PRICE_TOLERANCE_BPS + 1) / 10_000 + step) / step * step;
        _expectSubmitRevert(
            u, logitProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, u.collateralPrice, onChain)
        );
    }

    /// @notice Freshness and replay checks hold as well.
    function test_revertsOnStaleDataAndReplay() public {
        IRiskOracle.Update memory old = _logitUpdate(logits, 1);
        old.dataTimestamp = now_() - MAX_DATA_AGE - 1;
        _expectSubmitRevert(
            old, logitProof, abi.encodeWithSelector(Errors.StaleData.selector, old.dataTimestamp, now_())
        );
        _submit(_logitUpdate(logits, 1), logitProof);
        _expectSubmitRevert(
            _logitUpdate(logits, 1),
            logitProof,
            abi.encodeWithSelector(Errors.StaleEpoch.selector, uint64(1), uint64(1))
        );
    }
}

/// @notice The epoch circuit the keeper and the demo prove with: 64 logits, `Logits` layout.
contract RiskOracleLogitsTest is LogitFixtureTest {
    function _fixturePath() internal pure override returns (string memory) {
        return "test/fixtures/epoch_proof_logits.json";
    }

    function _layout() internal pure override returns (IRiskOracle.InstanceLayout, string memory) {
        return (IRiskOracle.InstanceLayout.Logits, "Logits");
    }

    function _deployVerifier() internal override returns (address) {
        return address(new Halo2VerifierLogits());
    }

    function _probabilitySum(uint256[] memory scores) internal view override returns (uint256) {
        return _linkedSum(scores);
    }
}

/// @notice The packed epoch circuit (`zkrisk bench prove`'s logit-255-packed): 255 logits in 85
///         instances, `PackedLogits` layout.
contract RiskOraclePackedTest is LogitFixtureTest {
    /// @dev The fixture's batch (the most recent vault-days) asks for LTV 79.2 %: start the reserve at
    ///      79.5 / 84.5 %, so the move stays within the steward's 50 bps.
    function setUp() public override {
        super.setUp();
        aave.listReserve(
            logitMarket, MockAaveMarket.Reserve(7_950, 8_450, START_BONUS, START_SUPPLY_CAP, START_BORROW_CAP)
        );
    }

    function _fixturePath() internal pure override returns (string memory) {
        return "test/fixtures/epoch_proof_packed.json";
    }

    function _layout() internal pure override returns (IRiskOracle.InstanceLayout, string memory) {
        return (IRiskOracle.InstanceLayout.PackedLogits, "PackedLogits");
    }

    function _deployVerifier() internal override returns (address) {
        return address(new Halo2VerifierPacked());
    }

    function _probabilitySum(uint256[] memory scores) internal view override returns (uint256 sum) {
        for (uint256 i; i < scores.length; ++i) {
            sum += Logistic.packedProbabilitySumUp(scores[i], logitBits);
        }
    }

    function test_threeScoresPerInstance() public view {
        assertEq(uint256(logitBatch), logits.length * 3, "batch = 3 x instances");
    }
}

/// @notice The price-bound epoch circuit the demo proves (`CircuitKind::epoch_priced`): the collateral price is
///         an input of the circuit, which computes the price-dependent features from it, and its public
///         instance 0; 64 logits follow (`PriceThenLogits`). The oracle passes the claimed price as instance 0,
///         so the proof holds at that price only, and checks it against the aggregator.
contract RiskOraclePricedTest is LogitFixtureTest {
    /// @dev The price the proof was made at (ETH's close on 2023-01-13 with its low 22 bits dropped).
    uint256 internal provenPrice;
    /// @dev Those 22 bits: the model's `priceShiftBits`.
    uint8 internal shiftBits;
    /// @dev The aggregator's answer: a little above the proven price, as the claim drops the answer's low bits.
    uint256 internal answer;

    function setUp() public override {
        super.setUp();
        provenPrice = vm.parseJsonUint(vm.readFile(_fixturePath()), ".price");
        shiftBits = _priceShiftBits();
        answer = provenPrice + 1_000_000;
        // Casting is safe: the fixture's price is about 1.45e11.
        // forge-lint: disable-next-line(unsafe-typecast)
        priceFeed.setAnswer(int256(answer));
    }

    function _fixturePath() internal pure override returns (string memory) {
        return "test/fixtures/epoch_proof_priced.json";
    }

    function _layout() internal pure override returns (IRiskOracle.InstanceLayout, string memory) {
        return (IRiskOracle.InstanceLayout.PriceThenLogits, "PriceThenLogits");
    }

    function _deployVerifier() internal override returns (address) {
        return address(new Halo2VerifierPriced());
    }

    function _probabilitySum(uint256[] memory scores) internal view override returns (uint256) {
        return _linkedSum(scores);
    }

    function _claimedPrice() internal view override returns (uint256) {
        return provenPrice;
    }

    function _priceShiftBits() internal view override returns (uint8) {
        uint256 bits = vm.parseJsonUint(vm.readFile(_fixturePath()), ".priceShiftBits");
        assertLe(bits, 255, "fixture: priceShiftBits");
        // Casting is safe: checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint8(bits);
    }

    function _onChainPrice() internal view override returns (uint256) {
        return answer;
    }

    function _instances(uint256[] memory scores) internal view override returns (uint256[] memory instances) {
        instances = new uint256[](scores.length + 1);
        instances[0] = provenPrice;
        for (uint256 i; i < scores.length; ++i) {
            instances[i + 1] = scores[i];
        }
    }

    /// @notice The stored state carries the proven price.
    function test_storesTheProvenPrice() public {
        _submit(_logitUpdate(logits, 1), logitProof);
        assertEq(oracle.marketState(logitMarket).collateralPrice, provenPrice, "collateral price");
    }

    /// @notice Another claimed price on the circuit's grid (a multiple of 2^22), well within the tolerance, is
    ///         not the proof's.
    function test_revertsOnAnotherPriceWithinTolerance() public {
        uint256 step = uint256(1) << shiftBits;
        uint256[2] memory others = [provenPrice + step, provenPrice - 100 * step];
        for (uint256 i; i < others.length; ++i) {
            IRiskOracle.Update memory u = _logitUpdate(logits, 1);
            u.collateralPrice = others[i];
            _expectSubmitRevert(u, logitProof, abi.encodeWithSelector(Errors.InvalidProof.selector));
        }
    }

    /// @notice A claimed price off the grid (any of its low 22 bits set) is refused before the proof is looked
    ///         at: the only price input that would give such an instance is a huge field element, with which
    ///         a keeper could otherwise grind the logits.
    function test_revertsOnAPriceOffTheGrid() public {
        uint256[3] memory offGrid = [provenPrice + 1, provenPrice - 1, answer];
        for (uint256 i; i < offGrid.length; ++i) {
            IRiskOracle.Update memory u = _logitUpdate(logits, 1);
            u.collateralPrice = offGrid[i];
            _expectSubmitRevert(
                u, logitProof, abi.encodeWithSelector(Errors.PriceOffGrid.selector, offGrid[i], shiftBits)
            );
        }
    }

    /// @notice Once the aggregator has moved beyond the tolerance, the proof's price is off the chain's and the
    ///         update is refused, although the proof itself still verifies.
    function test_revertsWhenTheAggregatorMovedAway() public {
        uint256 moved = provenPrice * 102 / 100;
        // Casting is safe: about 1.48e11.
        // forge-lint: disable-next-line(unsafe-typecast)
        priceFeed.setAnswer(int256(moved));
        assertTrue(Halo2VerifierPriced(logitVerifier).verifyProof(logitProof, _instances(logits)), "proof");
        _expectSubmitRevert(
            _logitUpdate(logits, 1),
            logitProof,
            abi.encodeWithSelector(Errors.PriceMismatch.selector, provenPrice, moved)
        );
        // Within the tolerance again (a 0.5 % move): accepted.
        // forge-lint: disable-next-line(unsafe-typecast)
        priceFeed.setAnswer(int256(provenPrice * 1005 / 1000));
        _submit(_logitUpdate(logits, 1), logitProof);
    }

    /// @notice The price instance is part of what the proof proves: the logits alone do not verify, so a model
    ///         registered without the price layout could not accept this proof.
    function test_logitsWithoutThePriceDoNotVerify() public view {
        assertTrue(_verifies(_instances(logits)), "the proof's own instances");
        assertFalse(_verifies(logits), "logits alone");
        uint256[] memory instances = _instances(logits);
        instances[0] = 0;
        assertFalse(_verifies(instances), "a zero price");
        instances[0] = provenPrice + (uint256(1) << shiftBits);
        assertFalse(_verifies(instances), "the next price on the grid");
    }

    function _verifies(uint256[] memory instances) internal view returns (bool) {
        (bool ok, bytes memory ret) =
            logitVerifier.staticcall(abi.encodeCall(Halo2VerifierPriced.verifyProof, (logitProof, instances)));
        return ok && ret.length == 32 && abi.decode(ret, (bool));
    }
}
