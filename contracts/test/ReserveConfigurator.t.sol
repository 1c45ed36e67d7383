// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {BaseTest} from "./Base.t.sol";

import {Errors} from "../src/libraries/Errors.sol";
import {Events} from "../src/libraries/Events.sol";

contract ReserveConfiguratorTest is BaseTest {
    event CollateralConfigurationChanged(
        address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus
    );

    function test_initReserve_storesConfiguration() public view {
        (uint256 ltv, uint256 lt, uint256 bonus) = configurator.getConfiguration(asset);
        assertEq(ltv, START_LTV, "ltv");
        assertEq(lt, START_LT, "lt");
        assertEq(bonus, START_BONUS, "bonus");
        assertTrue(configurator.isInitialized(asset), "initialised");
        assertEq(configurator.riskAdmin(), address(oracle));
    }

    function test_configure_byRiskAdminEmitsAaveEvent() public {
        vm.expectEmit(true, true, true, true, address(configurator));
        emit CollateralConfigurationChanged(asset, 7_000, 7_500, 10_500);
        vm.prank(address(oracle));
        configurator.configureReserveAsCollateral(asset, 7_000, 7_500, 10_500);
        (uint256 ltv, uint256 lt, uint256 bonus) = configurator.getConfiguration(asset);
        assertEq(ltv, 7_000, "ltv");
        assertEq(lt, 7_500, "lt");
        assertEq(bonus, 10_500, "bonus");
    }

    function test_configure_revertsForOthers() public {
        vm.expectRevert(Errors.NotRiskAdmin.selector);
        vm.prank(stranger);
        configurator.configureReserveAsCollateral(asset, 7_000, 7_500, 10_500);

        vm.expectRevert(Errors.NotRiskAdmin.selector);
        vm.prank(owner);
        configurator.configureReserveAsCollateral(asset, 7_000, 7_500, 10_500);
    }

    function test_configure_revertsWhenRiskAdminUnset() public {
        vm.prank(owner);
        configurator.setRiskAdmin(address(0));
        vm.expectRevert(Errors.NotRiskAdmin.selector);
        vm.prank(address(0));
        configurator.configureReserveAsCollateral(asset, 7_000, 7_500, 10_500);
    }

    function test_configure_revertsForUninitialisedReserve() public {
        address unknown = makeAddr("unknown");
        vm.expectRevert(abi.encodeWithSelector(Errors.ReserveNotInitialized.selector, unknown));
        vm.prank(address(oracle));
        configurator.configureReserveAsCollateral(unknown, 7_000, 7_500, 10_500);
    }

    function test_configure_rejectsInvalidConfigurations() public {
        _expectInvalid(8_600, 8_500, 10_500); // ltv above lt
        _expectInvalid(7_000, 7_500, 10_000); // bonus not above 100%
        _expectInvalid(7_000, 7_500, 9_000); // bonus below 100%
        _expectInvalid(9_000, 9_600, 10_500); // percentMul(9_600, 10_500) = 10_080 > 100%
        _expectInvalid(0, 0, 10_500); // collateral disabled with a bonus
        _expectInvalid(70_000, 70_000, 10_500); // does not fit Aave's 16-bit field
    }

    function test_configure_acceptsAaveEdgeCases() public {
        vm.startPrank(address(oracle));
        // percentMul rounds half up: 9_523 * 10_500 = 99_991_500 -> 9_999.15 -> 9_999 <= 10_000.
        configurator.configureReserveAsCollateral(asset, 9_523, 9_523, 10_500);
        // 9_524 * 10_500 = 100_002_000 -> 10_000.2 -> 10_000 <= 10_000 (Aave accepts it too).
        configurator.configureReserveAsCollateral(asset, 9_000, 9_524, 10_500);
        // Disabling collateral: lt = 0 with bonus 0.
        configurator.configureReserveAsCollateral(asset, 0, 0, 0);
        vm.stopPrank();
        (uint256 ltv, uint256 lt, uint256 bonus) = configurator.getConfiguration(asset);
        assertEq(ltv + lt + bonus, 0, "disabled");
    }

    function test_percentMul_halfUpBoundary() public view {
        // 9_524 * 10_505 = 100_049_620 -> 10_004.96 -> 10_005 > 10_000: rejected.
        assertFalse(configurator.isValidConfiguration(9_000, 9_524, 10_505), "10_004.96 rounds to 10_005");
        // 9_995 * 10_005 = 99_999_975 -> 9_999.9975 -> 10_000: accepted.
        assertTrue(configurator.isValidConfiguration(9_995, 9_995, 10_005), "rounds half up to 10_000");
        // 9_996 * 10_005 = 100_009_980 -> 10_000.998 -> 10_001: rejected, although the floor
        // (10_000) would pass; Aave's percentMul rounds half up.
        assertFalse(configurator.isValidConfiguration(9_996, 9_996, 10_005), "10_000.998 rounds to 10_001");
    }

    function test_initReserve_onlyOwnerOnceAndValid() public {
        address other = makeAddr("other");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        configurator.initReserve(other, 7_000, 7_500, 10_500);

        vm.expectRevert(abi.encodeWithSelector(Errors.ReserveAlreadyInitialized.selector, asset));
        vm.prank(owner);
        configurator.initReserve(asset, 7_000, 7_500, 10_500);

        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidReserveParams.selector, 8_000, 7_500, 10_500));
        vm.prank(owner);
        configurator.initReserve(other, 8_000, 7_500, 10_500);

        vm.expectRevert(Errors.ZeroAddress.selector);
        vm.prank(owner);
        configurator.initReserve(address(0), 7_000, 7_500, 10_500);
    }

    function test_setRiskAdmin_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        configurator.setRiskAdmin(stranger);

        vm.expectEmit(true, true, true, true, address(configurator));
        emit Events.RiskAdminSet(address(oracle), stranger);
        vm.prank(owner);
        configurator.setRiskAdmin(stranger);
        assertEq(configurator.riskAdmin(), stranger);
    }

    function _expectInvalid(uint256 ltv, uint256 lt, uint256 bonus) internal {
        assertFalse(configurator.isValidConfiguration(ltv, lt, bonus), "isValidConfiguration");
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidReserveParams.selector, ltv, lt, bonus));
        vm.prank(address(oracle));
        configurator.configureReserveAsCollateral(asset, ltv, lt, bonus);
    }
}
