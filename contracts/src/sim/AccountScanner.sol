// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

/// @notice The part of Aave v3's `IPool` the scanner reads.
interface IPoolAccountData {
    /// @notice Aave v3's `IPool.getUserAccountData` (base-currency amounts, 8 decimals in USD
    ///         markets; health factor with 18 decimals, `type(uint256).max` without debt).
    function getUserAccountData(address user)
        external
        view
        returns (
            uint256 totalCollateralBase,
            uint256 totalDebtBase,
            uint256 availableBorrowsBase,
            uint256 currentLiquidationThreshold,
            uint256 ltv,
            uint256 healthFactor
        );
}

/// @notice The part of ERC-20 the scanner reads.
interface IBalanceOf {
    /// @notice The token balance of `account` (for Aave's aTokens and debt tokens: with interest).
    function balanceOf(address account) external view returns (uint256);
}

/// @title AccountScanner
/// @notice Read-only batch views over an Aave v3 pool, so that an off-chain simulator or liquidator
///         reads hundreds of accounts in one `eth_call` instead of one call per account.
/// @dev Stateless and ownerless: nothing can be changed, by anyone. It trusts the pool and tokens it
///      is given (it only calls their views). Gas grows linearly with the number of accounts; callers
///      split large lists into chunks that fit the node's call gas cap.
contract AccountScanner {
    /// @notice One account's `getUserAccountData`.
    struct AccountData {
        uint256 totalCollateralBase;
        uint256 totalDebtBase;
        uint256 availableBorrowsBase;
        uint256 currentLiquidationThreshold;
        uint256 ltv;
        uint256 healthFactor;
    }

    /// @notice The health factor of each of `users` in `pool`, in order.
    function healthFactors(address pool, address[] calldata users) external view returns (uint256[] memory hfs) {
        hfs = new uint256[](users.length);
        for (uint256 i = 0; i < users.length; ++i) {
            (,,,,, hfs[i]) = IPoolAccountData(pool).getUserAccountData(users[i]);
        }
    }

    /// @notice The whole `getUserAccountData` of each of `users` in `pool`, in order.
    function accountData(address pool, address[] calldata users) external view returns (AccountData[] memory data) {
        data = new AccountData[](users.length);
        for (uint256 i = 0; i < users.length; ++i) {
            AccountData memory d = data[i];
            (
                d.totalCollateralBase,
                d.totalDebtBase,
                d.availableBorrowsBase,
                d.currentLiquidationThreshold,
                d.ltv,
                d.healthFactor
            ) = IPoolAccountData(pool).getUserAccountData(users[i]);
        }
    }

    /// @notice `balanceOf` of every user in every token: entry `u * tokens.length + t` is the balance
    ///         of `users[u]` in `tokens[t]`.
    function balances(address[] calldata tokens, address[] calldata users)
        external
        view
        returns (uint256[] memory out)
    {
        out = new uint256[](users.length * tokens.length);
        for (uint256 u = 0; u < users.length; ++u) {
            for (uint256 t = 0; t < tokens.length; ++t) {
                out[u * tokens.length + t] = IBalanceOf(tokens[t]).balanceOf(users[u]);
            }
        }
    }
}
