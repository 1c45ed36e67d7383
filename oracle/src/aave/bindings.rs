//! `sol!` bindings of the Aave v3.0 contracts (signatures copied from `@aave/core-v3` 1.19.3,
//! `contracts/interfaces/*.sol`) and of the project's test token and price feed
//! (`contracts/src/mocks/`).
//!
//! Only the functions and events zkrisk uses are declared; each one is byte-for-byte Aave's, so the
//! selectors and topics are mainnet Aave v3's. Solidity enums (`DataTypes.InterestRateMode`) are
//! `uint8` in the ABI and are declared as such.

// The generated event and call constructors take one argument per field.
#![allow(clippy::too_many_arguments)]

alloy::sol! {
    /// Aave v3's `IPool` (the subset zkrisk drives and reads).
    #[sol(rpc, all_derives)]
    interface IPool {
        /// The configuration bitmap of a reserve (`DataTypes.ReserveConfigurationMap`): bits 0-15
        /// LTV, 16-31 liquidation threshold, 32-47 liquidation bonus, 48-55 decimals, 56 active,
        /// 57 frozen, 58 borrowing enabled, 59 stable borrowing enabled, 60 paused, 61 borrowable
        /// in isolation, 62 siloed, 63 flash loans, 64-79 reserve factor, 80-115 borrow cap,
        /// 116-151 supply cap, 152-167 liquidation protocol fee, 168-175 e-mode category.
        struct ReserveConfigurationMap {
            uint256 data;
        }

        /// `DataTypes.ReserveData` of Aave v3.0.
        struct ReserveData {
            ReserveConfigurationMap configuration;
            uint128 liquidityIndex;
            uint128 currentLiquidityRate;
            uint128 variableBorrowIndex;
            uint128 currentVariableBorrowRate;
            uint128 currentStableBorrowRate;
            uint40 lastUpdateTimestamp;
            uint16 id;
            address aTokenAddress;
            address stableDebtTokenAddress;
            address variableDebtTokenAddress;
            address interestRateStrategyAddress;
            uint128 accruedToTreasury;
            uint128 unbacked;
            uint128 isolationModeTotalDebt;
        }

        event Supply(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode);
        event Withdraw(address indexed reserve, address indexed user, address indexed to, uint256 amount);
        event Borrow(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint8 interestRateMode, uint256 borrowRate, uint16 indexed referralCode);
        event Repay(address indexed reserve, address indexed user, address indexed repayer, uint256 amount, bool useATokens);
        event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken);
        event ReserveDataUpdated(address indexed reserve, uint256 liquidityRate, uint256 stableBorrowRate, uint256 variableBorrowRate, uint256 liquidityIndex, uint256 variableBorrowIndex);
        event ReserveUsedAsCollateralEnabled(address indexed reserve, address indexed user);
        event ReserveUsedAsCollateralDisabled(address indexed reserve, address indexed user);

        function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
        function withdraw(address asset, uint256 amount, address to) external returns (uint256);
        function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf) external;
        function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf) external returns (uint256);
        function liquidationCall(address collateralAsset, address debtAsset, address user, uint256 debtToCover, bool receiveAToken) external;
        function setUserUseReserveAsCollateral(address asset, bool useAsCollateral) external;
        function getUserAccountData(address user) external view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor);
        function getReservesList() external view returns (address[] memory);
        function getReserveData(address asset) external view returns (ReserveData memory);
        /// ABI-identical to Aave's `returns (DataTypes.ReserveConfigurationMap memory)`: a struct of
        /// one `uint256` encodes as that `uint256`.
        function getConfiguration(address asset) external view returns (uint256 data);
        function getReserveNormalizedIncome(address asset) external view returns (uint256);
        function getReserveNormalizedVariableDebt(address asset) external view returns (uint256);
        function ADDRESSES_PROVIDER() external view returns (address);
    }

    /// Aave v3's `IPoolAddressesProvider` (the registry of a market's contracts).
    #[sol(rpc, all_derives)]
    interface IPoolAddressesProvider {
        function getMarketId() external view returns (string memory);
        function getPool() external view returns (address);
        function setPoolImpl(address newPoolImpl) external;
        function getPoolConfigurator() external view returns (address);
        function setPoolConfiguratorImpl(address newPoolConfiguratorImpl) external;
        function getPriceOracle() external view returns (address);
        function setPriceOracle(address newPriceOracle) external;
        function getACLManager() external view returns (address);
        function setACLManager(address newAclManager) external;
        function getACLAdmin() external view returns (address);
        function setACLAdmin(address newAclAdmin) external;
        function getPoolDataProvider() external view returns (address);
        function setPoolDataProvider(address newDataProvider) external;
        function owner() external view returns (address);
    }

    /// Aave v3's `IACLManager` (roles).
    #[sol(rpc, all_derives)]
    interface IACLManager {
        function POOL_ADMIN_ROLE() external view returns (bytes32);
        function RISK_ADMIN_ROLE() external view returns (bytes32);
        function addPoolAdmin(address admin) external;
        function isPoolAdmin(address admin) external view returns (bool);
        function addEmergencyAdmin(address admin) external;
        function isEmergencyAdmin(address admin) external view returns (bool);
        function addRiskAdmin(address admin) external;
        function removeRiskAdmin(address admin) external;
        function isRiskAdmin(address admin) external view returns (bool);
        function addAssetListingAdmin(address admin) external;
        function isAssetListingAdmin(address admin) external view returns (bool);
    }

    /// Aave v3's `IPoolConfigurator` (the subset zkrisk uses).
    #[sol(rpc, all_derives)]
    interface IPoolConfigurator {
        /// `ConfiguratorInputTypes.InitReserveInput`.
        struct InitReserveInput {
            address aTokenImpl;
            address stableDebtTokenImpl;
            address variableDebtTokenImpl;
            uint8 underlyingAssetDecimals;
            address interestRateStrategyAddress;
            address underlyingAsset;
            address treasury;
            address incentivesController;
            string aTokenName;
            string aTokenSymbol;
            string variableDebtTokenName;
            string variableDebtTokenSymbol;
            string stableDebtTokenName;
            string stableDebtTokenSymbol;
            bytes params;
        }

        event ReserveInitialized(address indexed asset, address indexed aToken, address stableDebtToken, address variableDebtToken, address interestRateStrategyAddress);
        event CollateralConfigurationChanged(address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus);
        event ReserveBorrowing(address indexed asset, bool enabled);
        event ReserveFactorChanged(address indexed asset, uint256 oldReserveFactor, uint256 newReserveFactor);
        event BorrowCapChanged(address indexed asset, uint256 oldBorrowCap, uint256 newBorrowCap);
        event SupplyCapChanged(address indexed asset, uint256 oldSupplyCap, uint256 newSupplyCap);

        function initReserves(InitReserveInput[] calldata input) external;
        function setReserveBorrowing(address asset, bool enabled) external;
        function configureReserveAsCollateral(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus) external;
        function setReserveStableRateBorrowing(address asset, bool enabled) external;
        function setReserveFreeze(address asset, bool freeze) external;
        function setReservePause(address asset, bool paused) external;
        function setReserveFactor(address asset, uint256 newReserveFactor) external;
        function setBorrowCap(address asset, uint256 newBorrowCap) external;
        function setSupplyCap(address asset, uint256 newSupplyCap) external;
        function setLiquidationProtocolFee(address asset, uint256 newFee) external;
    }

    /// Aave v3's `IAaveOracle` (with `IPriceOracleGetter`'s `getAssetPrice`).
    #[sol(rpc, all_derives)]
    interface IAaveOracle {
        event AssetSourceUpdated(address indexed asset, address indexed source);

        function BASE_CURRENCY() external view returns (address);
        function BASE_CURRENCY_UNIT() external view returns (uint256);
        function getAssetPrice(address asset) external view returns (uint256);
        function getAssetsPrices(address[] calldata assets) external view returns (uint256[] memory);
        function getSourceOfAsset(address asset) external view returns (address);
        function setAssetSources(address[] calldata assets, address[] calldata sources) external;
    }

    /// Aave v3's `IPoolDataProvider`, implemented by `AaveProtocolDataProvider`.
    #[sol(rpc, all_derives)]
    interface IAaveProtocolDataProvider {
        function getReserveConfigurationData(address asset) external view returns (uint256 decimals, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus, uint256 reserveFactor, bool usageAsCollateralEnabled, bool borrowingEnabled, bool stableBorrowRateEnabled, bool isActive, bool isFrozen);
        function getReserveCaps(address asset) external view returns (uint256 borrowCap, uint256 supplyCap);
        function getUserReserveData(address asset, address user) external view returns (uint256 currentATokenBalance, uint256 currentStableDebt, uint256 currentVariableDebt, uint256 principalStableDebt, uint256 scaledVariableDebt, uint256 stableBorrowRate, uint256 liquidityRate, uint40 stableRateLastUpdated, bool usageAsCollateralEnabled);
        function getReserveTokensAddresses(address asset) external view returns (address aTokenAddress, address stableDebtTokenAddress, address variableDebtTokenAddress);
        function getLiquidationProtocolFee(address asset) external view returns (uint256);
    }

    /// `contracts/src/mocks/TestERC20.sol`: an ERC-20 anyone can mint (test token).
    #[sol(rpc, all_derives)]
    interface TestERC20 {
        event Transfer(address indexed from, address indexed to, uint256 value);

        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 value) external returns (bool);
        function transfer(address to, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string memory);
    }

    /// `contracts/src/mocks/PriceFeed.sol`: a Chainlink-style aggregator whose owner sets the answer.
    #[sol(rpc, all_derives)]
    interface PriceFeed {
        event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
        event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

        function setAnswer(int256 answer) external;
        function latestAnswer() external view returns (int256);
        function latestRound() external view returns (uint256);
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function decimals() external view returns (uint8);
    }
}
