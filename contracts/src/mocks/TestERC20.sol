// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestERC20
/// @notice A TEST TOKEN for local markets and tests: an OpenZeppelin ERC-20 with configurable decimals
///         and a `mint` that ANYONE can call. It has no value and must never be deployed where real
///         assets live.
contract TestERC20 is ERC20 {
    uint8 private immutable _decimals;

    /// @param name_ The token name (e.g. "Wrapped Ether (test)").
    /// @param symbol_ The token symbol (e.g. "WETH").
    /// @param decimals_ The decimals the token reports (18 for WETH, 6 for USDC, ...).
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    /// @notice The decimals set at construction.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Creates `amount` tokens for `to`. Open to every caller: this is a test token.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
