// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {BaseTest} from "./Base.t.sol";
import {Halo2VerifierLogits} from "./fixtures/Halo2VerifierLogits.sol";

import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Logistic} from "../src/libraries/Logistic.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";

/// @notice The epoch circuit the keeper and the demo prove with (the logit only, `Logits` layout), with
///         its real verifier and a real proof from test/fixtures (scripts/export_forge_fixture.py
///         --logits): the oracle accepts it and every check of `submit` still holds.
contract RiskOracleLogitsTest is BaseTest {
    string internal constant LOGITS_PATH = "test/fixtures/epoch_proof_logits.json";
    uint32 internal constant LOGIT_MODEL = 9;

    address internal immutable logitMarket = makeAddr("logit market");
    Halo2VerifierLogits internal logitVerifier;
    bytes internal logitProof;
    uint256[] internal logits;
    uint8 internal logitBits;

    function setUp() public override {
        super.setUp();
        string memory json = vm.readFile(LOGITS_PATH);
        assertEq(keccak256(bytes(vm.parseJsonString(json, ".layout"))), keccak256("Logits"), "fixture layout");
        logitProof = vm.parseJsonBytes(json, ".proof");
        logits = vm.parseJsonUintArray(json, ".scores");
        uint256 bits = vm.parseJsonUint(json, ".outputScaleBits");
        assertLe(bits, Logistic.MAX_LOGIT_BITS, "fixture: outputScaleBits");
        // Casting is safe: checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        logitBits = uint8(bits);
        logitVerifier = new Halo2VerifierLogits();
        IRiskOracle.Model memory m = fixtureModel();
        m.verifier = address(logitVerifier);
        m.layout = IRiskOracle.InstanceLayout.Logits;
        m.outputScaleBits = logitBits;
        // Casting is safe: the fixture's batch is far below 2^16.
        // forge-lint: disable-next-line(unsafe-typecast)
        m.batchSize = uint16(logits.length);
        registerWithMarket(LOGIT_MODEL, m, logitMarket);
    }

    /// @dev The update of the logit market for `scores` (the proof's logits), with the rule's parameters
    ///      for their probabilities.
    function _logitUpdate(uint256[] memory scores, uint64 epoch) internal view returns (IRiskOracle.Update memory u) {
        u = updateFor(fixtureScores, epoch);
        u.market = logitMarket;
        u.modelId = LOGIT_MODEL;
        u.scores = scores;
        uint256 sum;
        for (uint256 i; i < scores.length; ++i) {
            sum += Logistic.probabilityUp(scores[i], logitBits);
        }
        (u.params.ltv, u.params.liquidationThreshold, u.params.liquidationBonus,) =
            RiskRule.paramsFromSum(sum, scores.length, Logistic.PROB_BITS);
    }

    function test_verifierIsDeployableOnMainnet() public view {
        assertLt(address(logitVerifier).code.length, 24_576, "runtime size");
        assertEq(logits.length, 64, "the epoch batch");
    }

    function test_verifierAcceptsTheFixtureProof() public {
        assertTrue(logitVerifier.verifyProof(logitProof, logits), "verifyProof");
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
