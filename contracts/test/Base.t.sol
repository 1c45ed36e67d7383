// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";
import {Halo2Verifier} from "./fixtures/Halo2Verifier.sol";

import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";
import {ReserveConfigurator} from "../src/ReserveConfigurator.sol";
import {RiskOracle} from "../src/RiskOracle.sol";

/// @notice Deploys the real ezkl verifier from test/fixtures, a `ReserveConfigurator` with one
///         initialised reserve and a `RiskOracle` wired to both, and loads the fixture's proof.
/// @dev The fixture comes from scripts/export_forge_fixture.py; nothing here hard-codes its numbers,
///      so re-exporting another model's artifacts keeps these tests meaningful.
abstract contract BaseTest is Test {
    string internal constant EPOCH_PROOF_PATH = "test/fixtures/epoch_proof.json";

    uint256 internal constant START_LTV = 8_000;
    uint256 internal constant START_LT = 8_500;
    uint256 internal constant START_BONUS = 10_500;
    uint64 internal constant MAX_DATA_AGE = 1 hours;
    /// @dev 2023-11-14T22:13:20Z: a sane "now" for timestamps.
    uint64 internal constant NOW = 1_700_000_000;

    address internal immutable owner = makeAddr("owner");
    address internal immutable keeper = makeAddr("keeper");
    address internal immutable stranger = makeAddr("stranger");
    address internal immutable asset = makeAddr("asset");

    Halo2Verifier internal verifier;
    ReserveConfigurator internal configurator;
    RiskOracle internal oracle;

    bytes internal fixtureProof;
    uint256[] internal fixtureScores;
    uint8 internal outputScaleBits;
    uint16 internal batchSize;

    function setUp() public virtual {
        string memory json = vm.readFile(EPOCH_PROOF_PATH);
        fixtureProof = vm.parseJsonBytes(json, ".proof");
        fixtureScores = vm.parseJsonUintArray(json, ".scores");
        uint256 scaleBits = vm.parseJsonUint(json, ".outputScaleBits");
        uint256 size = vm.parseJsonUint(json, ".batchSize");
        assertLe(scaleBits, type(uint8).max, "fixture: outputScaleBits");
        assertLe(size, type(uint16).max, "fixture: batchSize");
        // Casting is safe: both values were just checked to fit.
        // forge-lint: disable-next-line(unsafe-typecast)
        (outputScaleBits, batchSize) = (uint8(scaleBits), uint16(size));
        assertEq(fixtureScores.length, batchSize, "fixture: batchSize != number of scores");

        vm.warp(NOW);

        verifier = new Halo2Verifier();
        configurator = new ReserveConfigurator(owner);
        oracle =
            new RiskOracle(address(verifier), address(configurator), keeper, outputScaleBits, batchSize, MAX_DATA_AGE);

        vm.prank(owner);
        configurator.setRiskAdmin(address(oracle));
        vm.prank(owner);
        configurator.initReserve(asset, START_LTV, START_LT, START_BONUS);

        vm.label(address(verifier), "Halo2Verifier");
        vm.label(address(configurator), "ReserveConfigurator");
        vm.label(address(oracle), "RiskOracle");
    }

    /// @notice A deterministic address with a label, like forge-std's `makeAddr`.
    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }

    /// @notice An update of `asset` carrying `scores` and RiskRule's parameters for them.
    function updateFor(uint256[] memory scores, uint64 epoch) internal view returns (IRiskOracle.Update memory update) {
        (uint16 ltv, uint16 lt, uint16 bonus,) = RiskRule.params(scores, outputScaleBits);
        update = IRiskOracle.Update({
            asset: asset,
            epoch: epoch,
            dataTimestamp: now_() - 10 minutes,
            scores: scores,
            ltv: ltv,
            liquidationThreshold: lt,
            liquidationBonus: bonus
        });
    }

    /// @notice block.timestamp as a uint64 (test timestamps are far below 2^64).
    function now_() internal view returns (uint64) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(block.timestamp);
    }

    /// @notice The fixture's valid update (epoch 1, data ten minutes old).
    function validUpdate() internal view returns (IRiskOracle.Update memory) {
        return updateFor(fixtureScores, 1);
    }
}
