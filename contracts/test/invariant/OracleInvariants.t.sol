// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {BaseTest} from "../Base.t.sol";
import {Test} from "../utils/Test.sol";
import {ExpectedReverts} from "./ExpectedReverts.sol";

import {IRiskOracle} from "../../src/interfaces/IRiskOracle.sol";
import {Errors} from "../../src/libraries/Errors.sol";
import {RiskRule} from "../../src/libraries/RiskRule.sol";
import {AaveRiskSteward} from "../../src/AaveRiskSteward.sol";
import {RiskOracle} from "../../src/RiskOracle.sol";

/// @notice Submits, as the keeper, the fixture's real proof with its real scores, the same proof with
///         tampered scores, and random updates with random proofs (their parameters always follow the rule,
///         so only the proof can stop them); executes queued updates; moves time. A rejected call is caught
///         only if its error is one that call may raise (a forged proof: `InvalidProof`; a repeated epoch:
///         `StaleEpoch`); any other revert escapes and `fail_on_revert` fails the run.
contract OracleHandler is Test, ExpectedReverts {
    RiskOracle public immutable oracle;
    AaveRiskSteward public immutable steward;
    address public immutable keeper;
    address public immutable market;
    uint32 public immutable modelId;
    uint8 public immutable outputScaleBits;
    uint256 public immutable price;

    bytes internal _proof;
    uint256[] internal _scores;

    /// @notice Accepted submissions of the untampered fixture.
    uint256 public acceptedGenuine;
    /// @notice Accepted submissions of anything else (must stay 0).
    uint256 public acceptedForged;
    /// @notice The epoch of the last accepted update.
    uint64 public lastEpoch;

    constructor(
        RiskOracle oracle_,
        address keeper_,
        address market_,
        uint32 modelId_,
        uint8 outputScaleBits_,
        uint256 price_,
        bytes memory proof_,
        uint256[] memory scores_
    ) {
        oracle = oracle_;
        steward = AaveRiskSteward(oracle_.steward());
        keeper = keeper_;
        market = market_;
        modelId = modelId_;
        outputScaleBits = outputScaleBits_;
        price = price_;
        _proof = proof_;
        _scores = scores_;
    }

    function submitGenuine(uint256 epochStep, bool tamper, uint256 index) external {
        uint256[] memory scores = _scores;
        if (tamper) {
            uint256 i = index % scores.length;
            scores[i] = scores[i] == 0 ? 1 : scores[i] - 1;
        }
        uint64 epoch = lastEpoch + uint64(bound(epochStep, 0, 3));
        vm.prank(keeper);
        try oracle.submit(_update(scores, epoch), _proof) {
            lastEpoch = epoch;
            if (tamper) ++acceptedForged;
            else ++acceptedGenuine;
        } catch (bytes memory reason) {
            _expectOneOf(reason, _errors(Errors.InvalidProof.selector, Errors.StaleEpoch.selector));
        }
    }

    function submitRandom(uint256 seed, bytes calldata proof) external {
        uint256[] memory scores = new uint256[](_scores.length);
        uint256 one = uint256(1) << outputScaleBits;
        for (uint256 i; i < scores.length; ++i) {
            scores[i] = uint256(keccak256(abi.encode(seed, i))) % (one + 1);
        }
        uint64 epoch = lastEpoch + 1;
        vm.prank(keeper);
        try oracle.submit(_update(scores, epoch), proof) {
            lastEpoch = epoch;
            ++acceptedForged;
        } catch (bytes memory reason) {
            _expectOneOf(reason, _errors(Errors.InvalidProof.selector));
        }
    }

    function execute() external {
        vm.warp(block.timestamp + steward.executionDelay());
        try steward.execute(steward.latestUpdateId(market)) {}
        catch (bytes memory reason) {
            _expectOneOf(
                reason,
                _errors(Errors.UnknownUpdate.selector, Errors.UpdateNotPending.selector, Errors.UpdateExpired.selector)
            );
        }
    }

    function warp(uint256 by) external {
        vm.warp(block.timestamp + bound(by, 1, 1 days));
        vm.roll(block.number + 1);
    }

    function _update(uint256[] memory scores, uint64 epoch) internal view returns (IRiskOracle.Update memory) {
        (uint16 ltv, uint16 lt, uint16 bonus,) = RiskRule.params(scores, outputScaleBits);
        // Casting is safe: test timestamps and blocks are far below 2^40.
        // forge-lint: disable-start(unsafe-typecast)
        return IRiskOracle.Update({
            market: market,
            modelId: modelId,
            epoch: epoch,
            dataTimestamp: uint64(block.timestamp - 10 minutes),
            dataBlock: uint64(block.number - 1),
            validUntil: uint40(block.timestamp + 1 days),
            collateralPrice: price,
            scores: scores,
            params: IRiskOracle.Params({
                ltv: ltv,
                liquidationThreshold: lt,
                liquidationBonus: bonus,
                supplyCap: type(uint64).max,
                borrowCap: type(uint64).max
            })
        });
        // forge-lint: disable-end(unsafe-typecast)
    }
}

/// @notice No state change without a verifying proof: over random sequences, the oracle's state is either
///         empty or the fixture's (the only proof the verifier accepts), and no forged update is accepted.
contract OracleInvariantTest is BaseTest {
    OracleHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler =
            new OracleHandler(oracle, keeper, asset, MODEL_ID, outputScaleBits, PRICE, fixtureProof, fixtureScores);
        vm.prank(owner);
        oracle.setKeeper(keeper, true);
        targetContract(address(handler));
    }

    /// @notice The handler's genuine path does land (so the invariants above are not vacuous).
    function test_handler_acceptsTheGenuineProofOnly() public {
        handler.submitGenuine(1, true, 5);
        assertEq(handler.lastEpoch(), 0, "tampered copy rejected");
        assertEq(handler.rejections(Errors.InvalidProof.selector), 1, "rejected as an invalid proof");
        handler.submitGenuine(1, false, 0);
        assertEq(handler.acceptedGenuine(), 1, "genuine accepted");
        assertEq(oracle.marketState(asset).epoch, 1, "epoch 1");
    }

    /// forge-config: default.invariant.depth = 8
    function invariant_noStateChangeWithoutAVerifyingProof() public view {
        assertEq(handler.acceptedForged(), 0, "a forged update was accepted");
        IRiskOracle.MarketState memory s = oracle.marketState(asset);
        assertEq(s.epoch, handler.lastEpoch(), "epoch moves only with accepted updates");
        if (s.epoch == 0) {
            assertEq(s.proofHash, bytes32(0), "no proof recorded");
            assertEq(steward.updateCount(), 0, "nothing queued");
        } else {
            assertEq(s.proofHash, keccak256(fixtureProof), "only the verifying proof");
            assertEq(s.scoresHash, keccak256(abi.encodePacked(fixtureScores)), "only the proven scores");
            assertEq(steward.updateCount(), handler.acceptedGenuine(), "one steward update per accepted proof");
        }
    }

    /// forge-config: default.invariant.depth = 8
    function invariant_aaveMovesOnlyToProvenParameters() public view {
        (uint256 ltv, uint256 lt, uint256 bonus) = aaveParams(asset);
        (uint16 pLtv, uint16 pLt, uint16 pBonus,) = RiskRule.params(fixtureScores, outputScaleBits);
        bool untouched = ltv == START_LTV && lt == START_LT && bonus == START_BONUS;
        bool proven = ltv == pLtv && lt == pLt && bonus == pBonus;
        assertTrue(untouched || proven, "aave holds the start or the proven parameters");
        assertLt(ltv, lt, "ltv < lt");
    }
}
