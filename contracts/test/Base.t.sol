// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";
import {MockAaveMarket} from "./utils/MockAave.sol";
import {Halo2Verifier} from "./fixtures/Halo2Verifier.sol";

import {IAaveRiskSteward} from "../src/interfaces/IAaveRiskSteward.sol";
import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";
import {PriceFeed} from "../src/mocks/PriceFeed.sol";
import {AaveRiskSteward} from "../src/AaveRiskSteward.sol";
import {RiskOracle} from "../src/RiskOracle.sol";

/// @notice Aave's production Risk Steward bounds: LTV/LT/bonus ±50 bps, caps ±30 % relative, each at
///         most once per 3 days.
abstract contract Bounds {
    uint32 internal constant WINDOW = 3 days;

    function aaveBounds() internal pure returns (IAaveRiskSteward.Bound[5] memory b) {
        for (uint256 p; p < 3; ++p) {
            b[p] = IAaveRiskSteward.Bound({maxIncrease: 50, maxDecrease: 50, minDelay: WINDOW});
        }
        for (uint256 p = 3; p < 5; ++p) {
            b[p] = IAaveRiskSteward.Bound({maxIncrease: 3_000, maxDecrease: 3_000, minDelay: WINDOW});
        }
    }
}

/// @notice Deploys the real ezkl verifier from test/fixtures, a mock Aave market (configurator and data
///         provider that validate like Aave) with one reserve, an `AaveRiskSteward` on it with Aave's
///         production bounds, a Chainlink-style price feed and a `RiskOracle` whose registry holds the
///         fixture's model (registered through the timelock) and whose market pins it; loads the proof.
/// @dev The fixture comes from scripts/export_forge_fixture.py; nothing here hard-codes its numbers,
///      so re-exporting another model's artifacts keeps these tests meaningful.
abstract contract BaseTest is Test, Bounds {
    string internal constant EPOCH_PROOF_PATH = "test/fixtures/epoch_proof.json";

    uint256 internal constant START_LTV = 8_000;
    uint256 internal constant START_LT = 8_500;
    uint256 internal constant START_BONUS = 10_500;
    uint256 internal constant START_SUPPLY_CAP = 1_000_000;
    uint256 internal constant START_BORROW_CAP = 800_000;
    uint64 internal constant MAX_DATA_AGE = 1 hours;
    uint64 internal constant TIMELOCK = 2 days;
    uint40 internal constant EXECUTION_DELAY = 1 hours;
    uint32 internal constant MODEL_ID = 1;
    uint16 internal constant PRICE_TOLERANCE_BPS = 100;
    uint256 internal constant PRICE = 3_000e8;
    int256 internal constant PRICE_ANSWER = 3_000e8;
    bytes32 internal constant SCHEMA_HASH = keccak256("maker-eth-b features v1");
    uint64 internal constant KEEP = type(uint64).max;
    /// @dev 2023-11-14T22:13:20Z: a sane "now" for timestamps.
    uint64 internal constant NOW = 1_700_000_000;

    address internal immutable owner = makeAddr("owner");
    address internal immutable guardian = makeAddr("guardian");
    address internal immutable keeper = makeAddr("keeper");
    address internal immutable stranger = makeAddr("stranger");
    address internal immutable asset = makeAddr("asset");

    Halo2Verifier internal verifier;
    MockAaveMarket internal aave;
    AaveRiskSteward internal steward;
    PriceFeed internal priceFeed;
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

        vm.warp(NOW - TIMELOCK);
        vm.roll(100);

        verifier = new Halo2Verifier();
        aave = new MockAaveMarket();
        aave.listReserve(
            asset, MockAaveMarket.Reserve(START_LTV, START_LT, START_BONUS, START_SUPPLY_CAP, START_BORROW_CAP)
        );
        steward = new AaveRiskSteward(address(aave), address(aave), owner, guardian, EXECUTION_DELAY, aaveBounds());
        aave.setRiskAdmin(address(steward));
        priceFeed = new PriceFeed(8, "ETH / USD", PRICE_ANSWER);
        oracle = new RiskOracle(address(steward), owner, TIMELOCK);

        vm.startPrank(owner);
        steward.setRiskOracle(address(oracle));
        oracle.setKeeper(keeper, true);
        oracle.scheduleRegisterModel(MODEL_ID, fixtureModel());
        oracle.scheduleConfigureMarket(asset, marketConfig());
        vm.stopPrank();

        vm.warp(NOW);
        oracle.registerModel(MODEL_ID, fixtureModel());
        oracle.configureMarket(asset, marketConfig());

        vm.label(address(verifier), "Halo2Verifier");
        vm.label(address(aave), "MockAaveMarket");
        vm.label(address(steward), "AaveRiskSteward");
        vm.label(address(oracle), "RiskOracle");
    }

    /// @notice The fixture's model: the committed verifier, scores only as public instances.
    function fixtureModel() internal view returns (IRiskOracle.Model memory) {
        return IRiskOracle.Model({
            verifier: address(verifier),
            featureSchemaHash: SCHEMA_HASH,
            outputScaleBits: outputScaleBits,
            batchSize: batchSize,
            horizon: 7 days,
            layout: IRiskOracle.InstanceLayout.ScoresOnly,
            priceShiftBits: 0,
            active: false
        });
    }

    /// @notice Submits as the keeper.
    function _submit(IRiskOracle.Update memory update, bytes memory proof) internal {
        vm.prank(keeper);
        oracle.submit(update, proof);
    }

    /// @notice Submits as the keeper and expects the revert `err`.
    function _expectSubmitRevert(IRiskOracle.Update memory update, bytes memory proof, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(keeper);
        oracle.submit(update, proof);
    }

    /// @dev Registers `m` as `modelId` and points `market` at it, through the timelock (warps TIMELOCK).
    function registerWithMarket(uint32 modelId, IRiskOracle.Model memory m, address market) internal {
        IRiskOracle.MarketConfig memory c = marketConfig();
        c.modelId = modelId;
        vm.startPrank(owner);
        oracle.scheduleRegisterModel(modelId, m);
        oracle.scheduleConfigureMarket(market, c);
        vm.stopPrank();
        vm.warp(block.timestamp + TIMELOCK);
        oracle.registerModel(modelId, m);
        oracle.configureMarket(market, c);
        aave.listReserve(
            market, MockAaveMarket.Reserve(START_LTV, START_LT, START_BONUS, START_SUPPLY_CAP, START_BORROW_CAP)
        );
    }

    /// @notice The test market's feed rules.
    function marketConfig() internal view returns (IRiskOracle.MarketConfig memory) {
        return IRiskOracle.MarketConfig({
            modelId: MODEL_ID,
            maxDataAge: MAX_DATA_AGE,
            priceSource: address(priceFeed),
            priceToleranceBps: PRICE_TOLERANCE_BPS
        });
    }

    /// @notice An update of `asset` carrying `scores` and RiskRule's parameters for them; caps kept.
    function updateFor(uint256[] memory scores, uint64 epoch) internal view returns (IRiskOracle.Update memory update) {
        (uint16 ltv, uint16 lt, uint16 bonus,) = RiskRule.params(scores, outputScaleBits);
        update = IRiskOracle.Update({
            market: asset,
            modelId: MODEL_ID,
            epoch: epoch,
            dataTimestamp: now_() - 10 minutes,
            dataBlock: uint64(block.number) - 1,
            validUntil: uint40(block.timestamp + 1 days),
            collateralPrice: PRICE,
            scores: scores,
            params: IRiskOracle.Params({
                ltv: ltv, liquidationThreshold: lt, liquidationBonus: bonus, supplyCap: KEEP, borrowCap: KEEP
            })
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

    /// @notice Aave's current (ltv, lt, bonus, supplyCap, borrowCap) of `asset` in the mock.
    function aaveParams(address a) internal view returns (uint256 ltv, uint256 lt, uint256 bonus) {
        (ltv, lt, bonus,,) = aave.reserves(a);
    }
}
