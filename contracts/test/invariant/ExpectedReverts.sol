// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

/// @notice For invariant handlers that provoke rejections on purpose. A handler catches a refused call and
///         passes the revert data here with the custom errors that call may legitimately raise; anything else
///         (a panic, a bare revert, another error) is re-raised, so `fail_on_revert` fails the run on it.
///         Without this, a bare `catch {}` would also swallow an arithmetic overflow or a wrong rejection.
abstract contract ExpectedReverts {
    /// @notice How many handler calls each expected error stopped, by selector.
    mapping(bytes4 => uint256) public rejections;

    /// @dev Returns if `reason` starts with one of `allowed`, else reverts with `reason` unchanged (so the
    ///      trace decodes it).
    function _expectOneOf(bytes memory reason, bytes4[] memory allowed) internal {
        if (reason.length >= 4) {
            bytes4 selector = bytes4(reason);
            for (uint256 i; i < allowed.length; ++i) {
                if (selector == allowed[i]) {
                    ++rejections[selector];
                    return;
                }
            }
        }
        assembly ("memory-safe") {
            revert(add(reason, 32), mload(reason))
        }
    }

    function _errors(bytes4 a) internal pure returns (bytes4[] memory list) {
        list = new bytes4[](1);
        list[0] = a;
    }

    function _errors(bytes4 a, bytes4 b) internal pure returns (bytes4[] memory list) {
        list = new bytes4[](2);
        (list[0], list[1]) = (a, b);
    }

    function _errors(bytes4 a, bytes4 b, bytes4 c) internal pure returns (bytes4[] memory list) {
        list = new bytes4[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _errors(bytes4 a, bytes4 b, bytes4 c, bytes4 d) internal pure returns (bytes4[] memory list) {
        list = new bytes4[](4);
        (list[0], list[1], list[2], list[3]) = (a, b, c, d);
    }

    function _errors(bytes4 a, bytes4 b, bytes4 c, bytes4 d, bytes4 e) internal pure returns (bytes4[] memory list) {
        list = new bytes4[](5);
        (list[0], list[1], list[2], list[3], list[4]) = (a, b, c, d, e);
    }
}
