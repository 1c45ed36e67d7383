// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {BaseTest} from "./Base.t.sol";

import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Events} from "../src/libraries/Events.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";
import {RiskOracle} from "../src/RiskOracle.sol";

contract RiskOracleTest is BaseTest {
    /// @dev Aave's event, redeclared: solc 0.8.20 cannot emit `IReserveConfigurator.CollateralConfigurationChanged`.
    event CollateralConfigurationChanged(
        address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus
    );

    /* --------------------------------- the happy path --------------------------------- */

    function test_submit_appliesValidUpdate() public {
        IRiskOracle.Update memory update = validUpdate();
        (uint16 ltv, uint16 lt, uint16 bonus, uint16 riskBps) = RiskRule.params(fixtureScores, outputScaleBits);
        bytes32 proofHash = keccak256(fixtureProof);

        vm.expectEmit(true, true, true, true, address(oracle));
        emit Events.UpdateApplied(asset, 1, ltv, lt, bonus, riskBps, proofHash, keeper);
        vm.expectEmit(true, true, true, true, address(configurator));
        emit CollateralConfigurationChanged(asset, ltv, lt, bonus);

        vm.prank(keeper);
        oracle.submit(update, fixtureProof);

        (uint256 newLtv, uint256 newLt, uint256 newBonus) = configurator.getConfiguration(asset);
        assertEq(newLtv, ltv, "configurator ltv");
        assertEq(newLt, lt, "configurator liquidationThreshold");
        assertEq(newBonus, bonus, "configurator liquidationBonus");

        IRiskOracle.MarketState memory state = oracle.marketState(asset);
        assertEq(state.epoch, 1, "epoch");
        assertEq(state.dataTimestamp, update.dataTimestamp, "dataTimestamp");
        assertEq(state.updatedAt, NOW, "updatedAt");
        assertEq(state.ltv, ltv, "ltv");
        assertEq(state.liquidationThreshold, lt, "liquidationThreshold");
        assertEq(state.liquidationBonus, bonus, "liquidationBonus");
        assertEq(state.riskBps, riskBps, "riskBps");
        assertEq(state.proofHash, proofHash);
        assertEq(state.publisher, keeper);
    }

    /// @dev The gas figure of a valid submit, isolated for the gas snapshot.
    function test_gas_submitValid() public {
        IRiskOracle.Update memory update = validUpdate();
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_laterEpochAndDataAccepted() public {
        vm.prank(keeper);
        oracle.submit(validUpdate(), fixtureProof);

        vm.warp(NOW + 1 days);
        IRiskOracle.Update memory update = updateFor(fixtureScores, 7);
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
        assertEq(oracle.marketState(asset).epoch, 7, "epoch");
        assertEq(oracle.marketState(asset).updatedAt, NOW + 1 days, "updatedAt");
    }

    function test_submit_dataExactlyMaxDataAgeOldAccepted() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataTimestamp = NOW - MAX_DATA_AGE;
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
        assertEq(oracle.marketState(asset).dataTimestamp, NOW - MAX_DATA_AGE, "dataTimestamp");
    }

    function test_constructor_setsImmutables() public view {
        assertEq(oracle.verifier(), address(verifier));
        assertEq(oracle.configurator(), address(configurator));
        assertEq(oracle.keeper(), keeper);
        assertEq(oracle.outputScaleBits(), outputScaleBits, "outputScaleBits");
        assertEq(oracle.batchSize(), batchSize, "batchSize");
        assertEq(oracle.maxDataAge(), MAX_DATA_AGE, "maxDataAge");
    }

    /* ------------------------------------ the proof ------------------------------------ */

    function test_submit_revertsOnTamperedProof() public {
        bytes memory proof = bytes.concat(fixtureProof);
        proof[proof.length / 2] ^= 0x01;
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.InvalidProof.selector);
        vm.prank(keeper);
        oracle.submit(update, proof);
    }

    function test_submit_revertsOnTruncatedProof() public {
        bytes memory proof = new bytes(fixtureProof.length - 32);
        for (uint256 i; i < proof.length; ++i) {
            proof[i] = fixtureProof[i];
        }
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.InvalidProof.selector);
        vm.prank(keeper);
        oracle.submit(update, proof);
    }

    /// @dev A score the proof does not attest to, with the parameters recomputed so that the rule
    ///      check passes: only the proof can catch it.
    function test_submit_revertsOnTamperedScore() public {
        uint256[] memory scores = fixtureScores;
        uint256 i = _firstScoreBelowOne(scores);
        scores[i] += 1;
        IRiskOracle.Update memory update = updateFor(scores, 1);
        vm.expectRevert(Errors.InvalidProof.selector);
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnReorderedScores() public {
        uint256[] memory scores = fixtureScores;
        uint256 j = _firstIndexDifferentFromFirst(scores);
        (scores[0], scores[j]) = (scores[j], scores[0]);
        IRiskOracle.Update memory update = updateFor(scores, 1);
        vm.expectRevert(Errors.InvalidProof.selector);
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsWhenVerifierHasNoCode() public {
        RiskOracle codeless = new RiskOracle(
            makeAddr("no code"), address(configurator), keeper, outputScaleBits, batchSize, MAX_DATA_AGE
        );
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.InvalidProof.selector);
        vm.prank(keeper);
        codeless.submit(update, fixtureProof);
    }

    function test_submit_revertsWhenVerifierReturnsFalse() public {
        address fake = makeAddr("false verifier");
        vm.etch(fake, hex"00");
        vm.mockCall(fake, bytes(""), abi.encode(false));
        RiskOracle oracleWithFake =
            new RiskOracle(fake, address(configurator), keeper, outputScaleBits, batchSize, MAX_DATA_AGE);
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.InvalidProof.selector);
        vm.prank(keeper);
        oracleWithFake.submit(update, fixtureProof);
    }

    /* --------------------------------- the other checks -------------------------------- */

    function test_submit_revertsForNonKeeper() public {
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.NotKeeper.selector);
        vm.prank(stranger);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnReplayedEpoch() public {
        IRiskOracle.Update memory update = validUpdate();
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);

        vm.expectRevert(abi.encodeWithSelector(Errors.StaleEpoch.selector, uint64(1), uint64(1)));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnEpochZero() public {
        IRiskOracle.Update memory update = updateFor(fixtureScores, 0);
        vm.expectRevert(abi.encodeWithSelector(Errors.StaleEpoch.selector, uint64(0), uint64(0)));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnOlderEpoch() public {
        vm.prank(keeper);
        oracle.submit(updateFor(fixtureScores, 5), fixtureProof);

        IRiskOracle.Update memory update = updateFor(fixtureScores, 4);
        vm.expectRevert(abi.encodeWithSelector(Errors.StaleEpoch.selector, uint64(4), uint64(5)));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnMismatchedParams() public {
        IRiskOracle.Update memory update = validUpdate();
        update.ltv += 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                Errors.ParamsMismatch.selector, update.ltv, update.liquidationThreshold, update.liquidationBonus
            )
        );
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnMismatchedBonus() public {
        IRiskOracle.Update memory update = validUpdate();
        update.liquidationBonus = 10_000;
        vm.expectRevert(
            abi.encodeWithSelector(
                Errors.ParamsMismatch.selector, update.ltv, update.liquidationThreshold, update.liquidationBonus
            )
        );
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnWrongBatchSize() public {
        uint256[] memory scores = new uint256[](fixtureScores.length - 1);
        for (uint256 i; i < scores.length; ++i) {
            scores[i] = fixtureScores[i];
        }
        IRiskOracle.Update memory update = updateFor(scores, 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.BatchSizeMismatch.selector, scores.length, fixtureScores.length));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnScoreAboveOne() public {
        IRiskOracle.Update memory update = validUpdate();
        uint256 last = update.scores.length - 1;
        uint256 tooHigh = (uint256(1) << outputScaleBits) + 1;
        update.scores[last] = tooHigh;
        vm.expectRevert(abi.encodeWithSelector(Errors.ScoreOutOfRange.selector, last, tooHigh));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnStaleData() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataTimestamp = NOW - MAX_DATA_AGE - 1;
        vm.expectRevert(abi.encodeWithSelector(Errors.StaleData.selector, update.dataTimestamp, NOW));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsOnFutureData() public {
        IRiskOracle.Update memory update = validUpdate();
        update.dataTimestamp = NOW + 1;
        vm.expectRevert(abi.encodeWithSelector(Errors.FutureData.selector, update.dataTimestamp, NOW));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    function test_submit_revertsWhenConfiguratorRejects() public {
        // The oracle is not the configurator's risk admin any more: the whole update reverts.
        vm.prank(owner);
        configurator.setRiskAdmin(stranger);
        IRiskOracle.Update memory update = validUpdate();
        vm.expectRevert(Errors.NotRiskAdmin.selector);
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
        assertEq(oracle.marketState(asset).epoch, 0, "state must not change");
    }

    function test_submit_revertsForUninitialisedReserve() public {
        IRiskOracle.Update memory update = validUpdate();
        update.asset = makeAddr("unknown asset");
        vm.expectRevert(abi.encodeWithSelector(Errors.ReserveNotInitialized.selector, update.asset));
        vm.prank(keeper);
        oracle.submit(update, fixtureProof);
    }

    /* ----------------------------------- constructor ----------------------------------- */

    function test_constructor_revertsOnZeroAddresses() public {
        vm.expectRevert(Errors.ZeroAddress.selector);
        new RiskOracle(address(0), address(configurator), keeper, 11, 64, MAX_DATA_AGE);
        vm.expectRevert(Errors.ZeroAddress.selector);
        new RiskOracle(address(verifier), address(0), keeper, 11, 64, MAX_DATA_AGE);
        vm.expectRevert(Errors.ZeroAddress.selector);
        new RiskOracle(address(verifier), address(configurator), address(0), 11, 64, MAX_DATA_AGE);
    }

    function test_constructor_revertsOnBadShape() public {
        vm.expectRevert(Errors.ZeroBatchSize.selector);
        new RiskOracle(address(verifier), address(configurator), keeper, 11, 0, MAX_DATA_AGE);
        vm.expectRevert(abi.encodeWithSelector(Errors.OutputScaleTooLarge.selector, uint8(65)));
        new RiskOracle(address(verifier), address(configurator), keeper, 65, 64, MAX_DATA_AGE);
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
