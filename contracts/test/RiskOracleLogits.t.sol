// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {BaseTest} from "./Base.t.sol";
import {MockAaveMarket} from "./utils/MockAave.sol";
import {Halo2VerifierLogits} from "./fixtures/Halo2VerifierLogits.sol";
import {Halo2VerifierPacked} from "./fixtures/Halo2VerifierPacked.sol";

import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Logistic} from "../src/libraries/Logistic.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";

/// @notice A logit circuit with its real verifier and a real proof from test/fixtures
///         (scripts/export_forge_fixture.py --logits or --packed): the oracle accepts it and every check
///         of `submit` still holds. Each concrete suite names its fixture, verifier and layout.
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
        registerWithMarket(LOGIT_MODEL, m, logitMarket);
    }

    /// @dev The update of the logit market for `scores` (the proof's logits), with the rule's parameters
    ///      for their probabilities.
    function _logitUpdate(uint256[] memory scores, uint64 epoch) internal view returns (IRiskOracle.Update memory u) {
        u = updateFor(fixtureScores, epoch);
        u.market = logitMarket;
        u.modelId = LOGIT_MODEL;
        u.scores = scores;
        (u.params.ltv, u.params.liquidationThreshold, u.params.liquidationBonus,) =
            RiskRule.paramsFromSum(_probabilitySum(scores), logitBatch, Logistic.PROB_BITS);
    }

    /// @dev The probabilities' sum the oracle computes for these instances.
    function _probabilitySum(uint256[] memory scores) internal view virtual returns (uint256 sum);

    function test_verifierIsDeployableOnMainnet() public view {
        assertLt(logitVerifier.code.length, 24_576, "runtime size");
        assertGe(logitBatch, 64, "at least 64 scores");
    }

    function test_verifierAcceptsTheFixtureProof() public {
        assertTrue(Halo2VerifierLogits(logitVerifier).verifyProof(logitProof, logits), "verifyProof");
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
        u.collateralPrice = PRICE + PRICE * (PRICE_TOLERANCE_BPS + 1) / 10_000;
        _expectSubmitRevert(
            u, logitProof, abi.encodeWithSelector(Errors.PriceMismatch.selector, u.collateralPrice, PRICE)
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

    function _probabilitySum(uint256[] memory scores) internal view override returns (uint256 sum) {
        for (uint256 i; i < scores.length; ++i) {
            sum += Logistic.probabilityUp(scores[i], logitBits);
        }
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
