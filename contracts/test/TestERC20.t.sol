// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";

import {TestERC20} from "../src/mocks/TestERC20.sol";

contract TestERC20Test is Test {
    TestERC20 internal token;
    address internal constant alice = address(0xA11CE);
    address internal constant bob = address(0xB0B);

    function setUp() public {
        token = new TestERC20("USD Coin (test)", "USDC", 6);
    }

    function test_metadata() public view {
        assertEq(token.decimals(), 6);
        assertEq(keccak256(bytes(token.symbol())), keccak256("USDC"));
        assertEq(keccak256(bytes(token.name())), keccak256("USD Coin (test)"));
        assertEq(token.totalSupply(), 0);
    }

    function testFuzz_anyoneMints(address minter, uint256 amount) public {
        vm.assume(minter != address(0));
        amount = bound(amount, 0, type(uint128).max);
        vm.prank(minter);
        token.mint(alice, amount);
        assertEq(token.balanceOf(alice), amount);
        assertEq(token.totalSupply(), amount);
    }

    function test_transferFromNeedsApproval() public {
        token.mint(alice, 100e6);
        vm.prank(bob);
        vm.expectRevert();
        bool ok = token.transferFrom(alice, bob, 1);
        assertFalse(ok, "reverted");
        vm.prank(alice);
        token.approve(bob, 40e6);
        vm.prank(bob);
        assertTrue(token.transferFrom(alice, bob, 40e6), "transferFrom");
        assertEq(token.balanceOf(alice), 60e6);
        assertEq(token.balanceOf(bob), 40e6);
        assertEq(token.allowance(alice, bob), 0);
    }
}
