// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title FixedPoint
/// @notice Multiply-then-divide with the rounding direction in the name. Pick the direction that
///         favours the protocol; the Rust encoders use the same names (`mul_div_down`, `mul_div_up`).
/// @dev Reverts (checked arithmetic) when `x * y` overflows, and with a division-by-zero panic when
///      `d == 0`. zkrisk's operands are bounded far below 2^128, so no 512-bit product is needed.
library FixedPoint {
    /// @notice floor(x * y / d).
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return (x * y) / d;
    }

    /// @notice ceil(x * y / d).
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        uint256 product = x * y;
        uint256 q = product / d;
        unchecked {
            // A non-zero remainder needs d >= 2, so q <= type(uint256).max / 2 and q + 1 cannot overflow.
            return product % d == 0 ? q : q + 1;
        }
    }
}
