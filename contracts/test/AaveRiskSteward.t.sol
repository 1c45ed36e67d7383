// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";

import {AaveRiskSteward} from "../src/AaveRiskSteward.sol";

/// @notice Records the last `configureReserveAsCollateral` and can revert like Aave does, so the steward's
///         own checks are tested apart from Aave (the real PoolConfigurator path is tested in Rust on anvil).
contract MockPoolConfigurator {
    address public asset;
    uint256 public ltv;
    uint256 public liquidationThreshold;
    uint256 public liquidationBonus;
    uint256 public calls;
    bool public failing;

    function setFailing(bool failing_) external {
        failing = failing_;
    }

    function configureReserveAsCollateral(address asset_, uint256 ltv_, uint256 lt_, uint256 bonus_) external {
        // Aave v3 reverts with numeric strings; "20" is INVALID_RESERVE_PARAMS.
        require(!failing, "20");
        (asset, ltv, liquidationThreshold, liquidationBonus) = (asset_, ltv_, lt_, bonus_);
        calls += 1;
    }
}

contract AaveRiskStewardTest is Test {
    event OracleSet(address indexed oracle);

    address internal constant OWNER = address(0x0A11);
    address internal constant ORACLE = address(0x04AC1E);
    address internal constant STRANGER = address(0x5712A);
    address internal constant ASSET = address(0xE7);

    MockPoolConfigurator internal aave;
    AaveRiskSteward internal steward;

    function setUp() public {
        aave = new MockPoolConfigurator();
        steward = new AaveRiskSteward(address(aave), OWNER);
        vm.prank(OWNER);
        steward.setOracle(ORACLE);
    }

    function test_constructor_rejectsZeroAddresses() public {
        vm.expectRevert(AaveRiskSteward.ZeroAddress.selector);
        new AaveRiskSteward(address(0), OWNER);
        vm.expectRevert(AaveRiskSteward.ZeroAddress.selector);
        new AaveRiskSteward(address(aave), address(0));
    }

    function test_setOracle_onlyOwnerOnceNonZero() public {
        AaveRiskSteward fresh = new AaveRiskSteward(address(aave), OWNER);
        vm.prank(STRANGER);
        vm.expectRevert(AaveRiskSteward.NotOwner.selector);
        fresh.setOracle(ORACLE);
        vm.prank(OWNER);
        vm.expectRevert(AaveRiskSteward.ZeroAddress.selector);
        fresh.setOracle(address(0));
        vm.expectEmit(true, true, true, true, address(fresh));
        emit OracleSet(ORACLE);
        vm.prank(OWNER);
        fresh.setOracle(ORACLE);
        assertEq(fresh.oracle(), ORACLE);
        vm.prank(OWNER);
        vm.expectRevert(AaveRiskSteward.OracleAlreadySet.selector);
        fresh.setOracle(STRANGER);
        assertEq(fresh.oracle(), ORACLE);
    }

    function test_configure_revertsBeforeOracleIsNamed() public {
        AaveRiskSteward fresh = new AaveRiskSteward(address(aave), OWNER);
        vm.prank(OWNER);
        vm.expectRevert(AaveRiskSteward.NotRiskOracle.selector);
        fresh.configureReserveAsCollateral(ASSET, 7_000, 7_500, 10_500);
        assertEq(aave.calls(), 0);
    }

    function test_configure_revertsForOthers() public {
        vm.prank(STRANGER);
        vm.expectRevert(AaveRiskSteward.NotRiskOracle.selector);
        steward.configureReserveAsCollateral(ASSET, 7_000, 7_500, 10_500);
        vm.prank(OWNER);
        vm.expectRevert(AaveRiskSteward.NotRiskOracle.selector);
        steward.configureReserveAsCollateral(ASSET, 7_000, 7_500, 10_500);
        assertEq(aave.calls(), 0);
    }

    function test_configure_rejectsZeroValuesAndLtvNotBelowLt() public {
        uint256[3][5] memory bad = [
            [uint256(0), 7_500, 10_500],
            [uint256(7_000), 0, 10_500],
            [uint256(7_000), 7_500, 0],
            [uint256(7_500), 7_500, 10_500],
            [uint256(8_000), 7_500, 10_500]
        ];
        for (uint256 i = 0; i < bad.length; i++) {
            vm.prank(ORACLE);
            vm.expectRevert(
                abi.encodeWithSelector(
                    AaveRiskSteward.InvalidCollateralParams.selector, bad[i][0], bad[i][1], bad[i][2]
                )
            );
            steward.configureReserveAsCollateral(ASSET, bad[i][0], bad[i][1], bad[i][2]);
        }
        assertEq(aave.calls(), 0);
    }

    function test_configure_passesAaveRevertsThrough() public {
        aave.setFailing(true);
        vm.prank(ORACLE);
        vm.expectRevert(bytes("20"));
        steward.configureReserveAsCollateral(ASSET, 7_000, 7_500, 10_500);
    }

    function testFuzz_configure_forwardsValidParams(uint256 ltv, uint256 lt, uint256 bonus) public {
        lt = bound(lt, 2, 10_000);
        ltv = bound(ltv, 1, lt - 1);
        bonus = bound(bonus, 10_001, 15_000);
        vm.expectCall(
            address(aave), abi.encodeCall(MockPoolConfigurator.configureReserveAsCollateral, (ASSET, ltv, lt, bonus))
        );
        vm.prank(ORACLE);
        steward.configureReserveAsCollateral(ASSET, ltv, lt, bonus);
        assertEq(aave.asset(), ASSET);
        assertEq(aave.ltv(), ltv);
        assertEq(aave.liquidationThreshold(), lt);
        assertEq(aave.liquidationBonus(), bonus);
        assertEq(aave.calls(), 1);
    }
}
