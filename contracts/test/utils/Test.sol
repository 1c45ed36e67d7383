// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice The subset of Foundry's cheatcodes these tests use, at the standard cheatcode address.
/// @dev Our own because the only forge-std on npm (1.1.2) imports `ds-test`, which it does not ship,
///      and predates `readFile`/`parseJson*`; `forge install` (GitHub) is not available offline.
///      The signatures are Foundry's, so swapping in forge-std's `Vm` later changes nothing.
interface Vm {
    // Environment
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function label(address account, string calldata newLabel) external;
    function addr(uint256 privateKey) external pure returns (address);
    function assume(bool condition) external pure;

    // Expectations
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function expectCall(address callee, bytes calldata data) external;
    function mockCall(address callee, bytes calldata data, bytes calldata returnData) external;

    // Files and JSON
    function readFile(string calldata path) external view returns (string memory data);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function keyExistsJson(string calldata json, string calldata key) external view returns (bool);
    function toString(uint256 value) external pure returns (string memory);

    // Assertions (they revert with a readable message on failure)
    function assertTrue(bool condition, string calldata error) external pure;
    function assertFalse(bool condition, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(address left, address right) external pure;
    function assertEq(bytes32 left, bytes32 right) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertEq(bool left, bool right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertLt(uint256 left, uint256 right, string calldata error) external pure;
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGe(uint256 left, uint256 right, string calldata error) external pure;
}

/// @notice The target lists forge's invariant runner reads from a test contract, as forge-std's
///         `StdInvariant` declares them: forge calls `targetContracts()`, `targetSelectors()`,
///         `targetSenders()` and `excludeContracts()` by these exact signatures when they exist.
abstract contract StdInvariantLite {
    /// @notice A contract and the functions of it the fuzzer may call (forge-std's `FuzzSelector`).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    FuzzSelector[] private _targetedSelectors;

    /// @notice Restricts the invariant fuzzer to `target` (call once per handler).
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @notice Keeps the fuzzer away from `target`.
    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }

    /// @notice Restricts the fuzzer to these functions of `selector.addr`.
    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    /// @notice Makes the fuzzer call from `sender` (else it picks random senders).
    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    /// @notice Read by forge.
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Read by forge.
    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    /// @notice Read by forge.
    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    /// @notice Read by forge.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}

/// @notice A minimal test base: the cheatcode handle, assertion shorthands, `bound` and the
///         invariant-target helpers.
abstract contract Test is StdInvariantLite {
    /// @dev address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @notice A deterministic address with a label, like forge-std's `makeAddr`.
    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }

    function assertEq(bytes32 left, bytes32 right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertEq(bool left, bool right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertEq(address left, address right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertLt(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertLt(left, right, error);
    }

    function assertTrue(bool condition, string memory error) internal pure {
        vm.assertTrue(condition, error);
    }

    function assertFalse(bool condition, string memory error) internal pure {
        vm.assertFalse(condition, error);
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertEq(left, right, error);
    }

    function assertEq(address left, address right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        vm.assertEq(left, right);
    }

    function assertLe(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertLe(left, right, error);
    }

    function assertGe(uint256 left, uint256 right, string memory error) internal pure {
        vm.assertGe(left, right, error);
    }

    /// @notice Maps `x` into [min, max], as forge-std's `bound` does: values already in range and the
    ///         first and last few integers map to themselves or the range's ends, so fuzzing still
    ///         hits the edges.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256 result) {
        require(min <= max, "bound: max is less than min");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (x <= 3 && size > x) return min + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return max - (type(uint256).max - x);
        if (x > max) {
            uint256 rem = (x - max) % size;
            if (rem == 0) return max;
            result = min + rem - 1;
        } else {
            uint256 rem = (min - x) % size;
            if (rem == 0) return min;
            result = max - rem + 1;
        }
    }
}
