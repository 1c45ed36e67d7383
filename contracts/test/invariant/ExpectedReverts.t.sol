// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "../utils/Test.sol";
import {ExpectedReverts} from "./ExpectedReverts.sol";

/// @dev Raises what it is told to, so the filter can be fed real revert data.
contract Thrower {
    error Allowed(uint256 x);
    error Other();

    function raise(uint8 kind) external pure returns (uint256) {
        if (kind == 0) revert Allowed(7);
        if (kind == 1) revert Other();
        if (kind == 2) {
            uint256 zero;
            return 1 / zero;
        }
        revert();
    }
}

contract FilterHarness is ExpectedReverts {
    Thrower internal immutable thrower = new Thrower();

    function callAndFilter(uint8 kind) external {
        try thrower.raise(kind) {}
        catch (bytes memory reason) {
            _expectOneOf(reason, _errors(Thrower.Allowed.selector));
        }
    }
}

/// @notice The handlers' revert filter lets through only the errors it is given and re-raises the rest as
///         they were, so an invariant run fails on a panic or an unexpected rejection.
contract ExpectedRevertsTest is Test {
    FilterHarness internal harness;

    function setUp() public {
        harness = new FilterHarness();
    }

    function test_expectedErrorIsCaughtAndCounted() public {
        harness.callAndFilter(0);
        harness.callAndFilter(0);
        assertEq(harness.rejections(Thrower.Allowed.selector), 2, "two rejections counted");
    }

    function test_otherErrorIsReRaised() public {
        vm.expectRevert(Thrower.Other.selector);
        harness.callAndFilter(1);
    }

    function test_panicIsReRaised() public {
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x12));
        harness.callAndFilter(2);
    }

    function test_bareRevertIsReRaised() public {
        vm.expectRevert(bytes(""));
        harness.callAndFilter(3);
    }
}
